"""Batch import on SQLite and PostgreSQL: good, repeated, out of order, skipped, and every kind
of bad batch rejected whole with the database untouched."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from cti.customers import store
from cti.customers.model import id_number_digest
from cti.customers.importer import Importer
from cti.storage.unit_of_work import run_in_session
from cti.storage.db import make_session_factory
from tests.customers.conftest import write_batch

CUSTOMERS = ["A|C001|张三|person|440101199001011234|广州市天河区|020-1234567",
             "A|C002|广州某公司|company|||"]
LINES = ["A|13800000001|C001|4G畅享|normal|gold|GZ|zh|123456|1250|20261203090000",
         "A|13800000002|C002|企业专线|normal|standard|GZ|zh||-300|20261203090000"]


@pytest.fixture
def importer(engine):
    return Importer(engine, holder="test")


def count(engine, model) -> int:
    sessions = make_session_factory(engine)
    return run_in_session(sessions, lambda s: s.scalar(select(func.count()).select_from(model)))


def line(engine, number):
    return run_in_session(make_session_factory(engine), store.find_line, number)


def seed(importer, tmp_path):
    assert importer.import_file(write_batch(tmp_path, "CUSTOMER", 1, CUSTOMERS)).outcome == "applied"
    assert importer.import_file(write_batch(tmp_path, "LINE", 1, LINES)).outcome == "applied"


def test_a_good_batch_is_applied_and_counted(importer, engine, tmp_path):
    result = importer.import_file(write_batch(tmp_path, "CUSTOMER", 1, CUSTOMERS))
    assert (result.outcome, result.added, result.updated, result.deleted, result.rows) == \
        ("applied", 2, 0, 0, 2)
    result = importer.import_file(write_batch(tmp_path, "LINE", 1, LINES))
    assert result.added == 2 and result.rows_per_second > 0
    found = line(engine, "13800000001")
    assert (found.name, found.tier, found.status, found.product, found.region) == \
        ("张三", "gold", "normal", "4G畅享", "GZ")
    sessions = make_session_factory(engine)
    account = run_in_session(sessions, store.account_of, "13800000002")
    assert account.balance_fen == -300
    assert account.balance_at == dt.datetime(2026, 12, 3, 1, 0, tzinfo=dt.timezone.utc)
    masked, digest = run_in_session(sessions, lambda s: s.execute(
        select(store.Customer.id_number_masked, store.Customer.id_number_hash)
        .where(store.Customer.customer_key == "C001")).one())
    assert masked == "440***********1234"
    assert digest == id_number_digest("C001", "440101199001011234")
    # PostgreSQL takes a UTF-8 batch with COPY as it is; SQLite, row by row
    assert result.loader == ("copy" if engine.dialect.name == "postgresql" else "rows")
    pin = run_in_session(sessions, store.pin_hash_of, "13800000001")
    assert pin.startswith("scrypt$") and "123456" not in pin


def test_update_and_delete_then_history_of_every_type(importer, engine, tmp_path):
    seed(importer, tmp_path)
    files = [
        write_batch(tmp_path, "LINE", 2, [
            "U|13800000001|C001|5G尊享|arrears|platinum|SZ|en||-5000|20261203120000",
            "D|13800000002"]),
        write_batch(tmp_path, "BILL", 1, ["A|13800000001|202610|5800|20261115|1",
                                          "A|13800000001|202611|6300|20261215|0"]),
        write_batch(tmp_path, "BILL_ITEM", 1, ["A|13800000001|202611|1|月租|套餐月费|5800",
                                               "A|13800000001|202611|2|流量|超出流量|500"]),
        write_batch(tmp_path, "PAYMENT", 1, ["A|P0001|13800000001|10000|20261101083000|微信"]),
        write_batch(tmp_path, "STATUS", 1, ["A|S0001|13800000001|normal|arrears|欠费|20261203120000"]),
        write_batch(tmp_path, "CDR", 1, ["A|13800000001|202611|local|120|340|0"]),
    ]
    results = [importer.import_file(f) for f in files]
    assert [r.outcome for r in results] == ["applied"] * 6, [r.message for r in results]
    assert (results[0].updated, results[0].deleted) == (1, 1)
    found = line(engine, "13800000001")
    assert (found.tier, found.status, found.language, found.product) == ("platinum", "arrears", "en", "5G尊享")
    assert line(engine, "13800000002") is None
    account = run_in_session(make_session_factory(engine), store.account_of, "13800000001")
    assert account.last_bill.period == "2026-11" and account.last_bill.amount_fen == 6300
    assert account.last_bill.due_date == dt.date(2026, 12, 15) and account.last_bill.paid is False
    assert (account.last_payment.amount_fen, account.last_payment.channel) == (10000, "微信")
    assert count(engine, store.BillItem) == 2 and count(engine, store.CallSummary) == 1
    pin = run_in_session(make_session_factory(engine), store.pin_hash_of, "13800000001")
    assert pin and pin.startswith("scrypt$")             # an update without a PIN keeps it


def test_the_same_file_twice_changes_nothing_and_says_so(importer, engine, tmp_path):
    path = write_batch(tmp_path, "CUSTOMER", 1, CUSTOMERS)
    assert importer.import_file(path).outcome == "applied"
    again = importer.import_file(path)
    assert again.outcome == "duplicate" and "already applied" in again.message
    assert count(engine, store.Customer) == 2 and count(engine, store.ImportBatch) == 1


def test_same_sequence_with_other_content_is_rejected(importer, engine, tmp_path):
    assert importer.import_file(write_batch(tmp_path, "CUSTOMER", 1, CUSTOMERS)).outcome == "applied"
    other = write_batch(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path,
                        "CUSTOMER", 1, ["A|C009|王五|person|||"])
    result = importer.import_file(other)
    assert result.outcome == "rejected" and "new sequence number" in result.message
    assert count(engine, store.Customer) == 2


def test_a_gap_stops_the_type_until_the_missing_batch_comes(importer, engine, tmp_path):
    first = write_batch(tmp_path, "CUSTOMER", 1, CUSTOMERS[:1])
    third = write_batch(tmp_path, "CUSTOMER", 3, ["A|C003|李四|person|||"])
    second = write_batch(tmp_path, "CUSTOMER", 2, [CUSTOMERS[1]])
    assert importer.import_file(first).outcome == "applied"
    waiting = importer.import_file(third)
    assert waiting.outcome == "waiting" and "missing batch 2" in waiting.message
    assert count(engine, store.Customer) == 1
    assert importer.import_file(second).outcome == "applied"
    assert importer.import_file(third).outcome == "applied"
    assert count(engine, store.Customer) == 3


def test_an_operator_skips_a_batch_that_will_never_come(importer, engine, tmp_path):
    third = write_batch(tmp_path, "CUSTOMER", 2, CUSTOMERS)
    assert importer.import_file(third).outcome == "waiting"
    with pytest.raises(Exception, match="waits for batch 1"):
        importer.skip("CUSTOMER", 5)
    assert "skipped" in importer.skip("CUSTOMER", 1)
    assert importer.import_file(third).outcome == "applied"
    late = importer.import_file(write_batch(tmp_path / "late" if (tmp_path / "late").mkdir() is None
                                            else tmp_path, "CUSTOMER", 1, ["A|C009|王五|person|||"]))
    assert late.outcome == "rejected" and "skipped" in late.message
    outcomes = run_in_session(make_session_factory(engine), lambda s: s.execute(
        select(store.ImportBatch.sequence, store.ImportBatch.outcome)
        .order_by(store.ImportBatch.sequence)).all())
    assert [tuple(o) for o in outcomes] == [(1, "skipped"), (2, "applied")]


def _untouched(importer, engine, tmp_path, path, *expected):
    """Apply ``path`` after the seed; it must be rejected, name its lines, change nothing."""
    result = importer.import_file(path)
    assert result.outcome == "rejected", result.message
    text = result.report()
    for needle in expected:
        assert needle in text, text
    assert count(engine, store.ImportBatch) == 2               # only the seed's batches
    assert line(engine, "13800000001").tier == "gold"
    assert count(engine, store.SubscriberLine) == 2
    return result


def test_truncated_file(importer, engine, tmp_path):
    seed(importer, tmp_path)
    path = write_batch(tmp_path, "LINE", 2, ["U|13800000001|C001|x|normal|silver|GZ|zh||0|"],
                       announce=3)
    _untouched(importer, engine, tmp_path, path, "announces 3 rows", "has 1")


def test_wrong_header(importer, engine, tmp_path):
    seed(importer, tmp_path)
    for header in ("LINE|BOSS|2|20261203100000|1|UTF-8\n",
                   "HDR|LINE|BOSS|2|20261203100000|1|BIG5\n",
                   "HDR|BILL|BOSS|2|20261203100000|1|UTF-8\n"):
        path = write_batch(tmp_path, "LINE", 2, ["U|13800000001|C001|x|normal|silver|GZ|zh||0|"],
                           header=header)
        result = _untouched(importer, engine, tmp_path, path)
        assert "header" in result.message


@pytest.mark.parametrize("declared, written, why", [
    ("UTF-8", "gbk", "not valid UTF-8"),
    ("GBK", "utf-8", "declares GBK but this line is UTF-8"),
])
def test_wrongly_encoded(importer, engine, tmp_path, declared, written, why):
    seed(importer, tmp_path)
    path = write_batch(tmp_path, "CUSTOMER", 2, ["A|C003|李四|person||北京|"],
                       encoding=declared, codec=written)
    result = importer.import_file(path)
    assert result.outcome == "rejected" and why in result.report()
    assert count(engine, store.Customer) == 2


def test_gbk_declared_and_written_is_applied(importer, engine, tmp_path):
    path = write_batch(tmp_path, "CUSTOMER", 1, ["A|C003|李四|person||北京市海淀区|"],
                       encoding="GBK", crlf=True)
    assert importer.import_file(path).outcome == "applied"
    name = run_in_session(make_session_factory(engine), lambda s: s.scalar(
        select(store.Customer.address).where(store.Customer.customer_key == "C003")))
    assert name == "北京市海淀区"


def test_invalid_bytes(importer, engine, tmp_path):
    seed(importer, tmp_path)
    path = write_batch(tmp_path, "CUSTOMER", 2, ["A|C003|x|person|||"])
    path.write_bytes(path.read_bytes().replace(b"|x|", b"|\xff\xfe|"))
    _untouched(importer, engine, tmp_path, path, "line 2:", "0xff")


def test_corrupt_rows_are_each_named(importer, engine, tmp_path):
    seed(importer, tmp_path)
    path = write_batch(tmp_path, "LINE", 2, [
        "U|13800000001|C001|x|normal|silver|GZ|zh||0|",        # good, but the batch goes whole
        "X|13800000002|C002|x|normal|silver|GZ|zh||0|",        # bad op
        "U|13800000002|C002|x|normal|silver|GZ|zh||12.50|",    # bad amount
        "U|13800000002|C002|x|gone|silver|GZ|zh||0|",          # bad status
        "U|13800000002|C002|x|normal|silver|GZ|zh|0|",         # a field short
    ])
    result = _untouched(importer, engine, tmp_path, path, "line 3:", "line 4:", "line 5:", "line 6:")
    assert [n for n, _ in result.errors] == [3, 4, 5, 6]
    assert "operation 'X'" in result.report() and "whole fen" in result.report()


def test_duplicate_key_inside_a_batch(importer, engine, tmp_path):
    seed(importer, tmp_path)
    path = write_batch(tmp_path, "LINE", 2, [
        "U|13800000001|C001|x|normal|silver|GZ|zh||0|",
        "U|13800000001|C001|y|normal|silver|GZ|zh||0|"])
    _untouched(importer, engine, tmp_path, path, "13800000001 appears 2 times")


def test_delete_or_update_of_an_unknown_key_and_unknown_references(importer, engine, tmp_path):
    seed(importer, tmp_path)
    path = write_batch(tmp_path, "LINE", 2, [
        "D|13999999999",
        "U|13900000000|C001|x|normal|silver|GZ|zh||0|",
        "A|13800000001|C001|x|normal|silver|GZ|zh||0|",
        "A|13700000000|C404|x|normal|silver|GZ|zh||0|"])
    result = _untouched(importer, engine, tmp_path, path)
    reasons = dict(result.errors)
    assert "does not exist" in reasons[2] and "does not exist" in reasons[3]
    assert "exists (use U" in reasons[4] and "unknown customer_key" in reasons[5]


def test_a_batch_failing_on_its_last_row_leaves_nothing(importer, engine, tmp_path):
    seed(importer, tmp_path)
    rows = [f"A|C{n:05d}|客户{n}|person|||" for n in range(100, 5100)]
    rows.append("A|C99999|坏行|robot|||")
    result = importer.import_file(write_batch(tmp_path, "CUSTOMER", 2, rows))
    assert result.outcome == "rejected" and [n for n, _ in result.errors] == [5002]
    assert count(engine, store.Customer) == 2


def test_a_customer_with_lines_cannot_be_deleted(importer, engine, tmp_path):
    seed(importer, tmp_path)
    result = importer.import_file(write_batch(tmp_path, "CUSTOMER", 2, ["D|C001"]))
    assert result.outcome == "rejected" and "still has lines" in result.report()
    assert count(engine, store.Customer) == 2


def test_a_bad_file_name_is_refused(importer, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("HDR|CUSTOMER|BOSS|1|20261203100000|0|UTF-8\n")
    result = importer.import_file(path)
    assert result.outcome == "rejected" and "<TYPE>_<REGION>_<YYYYMMDD>_<SEQUENCE>.txt" in result.message


def test_both_loaders_store_the_same_values(engine, tmp_path):
    """A UTF-8 batch (COPY as it is, on PostgreSQL) and the same rows in GBK (row by row) end
    up as the same rows: ids, masks, digests, times, money, PIN hashes that verify."""
    from cti.storage.passwords import verify_password
    rows = ["A|C001|张三|person| 44010119900101123x |广州|020-1",
            "A|C002|李四|company|1234|北京|"]
    lines = ["A|13800000001|C001|4G|arrears|gold|GZ|zh|123456|-1250|20261231235959",
             "A|13800000002|C002||normal|standard||en|scrypt$1$1$1$AA==$AA==|0|"]
    outcome = {}
    for encoding in ("UTF-8", "GBK"):
        folder = tmp_path / encoding
        folder.mkdir()
        importer = Importer(engine, holder="test")
        results = [importer.import_file(write_batch(folder, "CUSTOMER", 1, rows, encoding=encoding)),
                   importer.import_file(write_batch(folder, "LINE", 1, lines, encoding=encoding))]
        assert [r.outcome for r in results] == ["applied", "applied"], [r.report() for r in results]
        sessions = make_session_factory(engine)
        outcome[encoding] = run_in_session(sessions, lambda s: (
            [tuple(r) for r in s.execute(select(
                store.Customer.customer_key, store.Customer.name, store.Customer.kind,
                store.Customer.id_number_masked, store.Customer.id_number_hash,
                store.Customer.address, store.Customer.contact_phone).order_by(store.Customer.customer_key))],
            [tuple(r) for r in s.execute(select(
                store.SubscriberLine.number, store.SubscriberLine.product, store.SubscriberLine.status,
                store.SubscriberLine.tier, store.SubscriberLine.region, store.SubscriberLine.language,
                store.SubscriberLine.balance_fen, store.SubscriberLine.balance_at)
                .order_by(store.SubscriberLine.number))],
            s.scalar(select(store.SubscriberLine.pin_hash).where(store.SubscriberLine.number == "13800000001")),
            s.scalar(select(store.SubscriberLine.pin_hash).where(store.SubscriberLine.number == "13800000002"))))
        with engine.begin() as conn:              # empty again for the other encoding
            for table in ("subscriber_lines", "customers", "import_batches"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
    utf8, gbk = outcome["UTF-8"], outcome["GBK"]
    assert utf8[:2] == gbk[:2]
    assert utf8[0][0][3:5] == ("440***********123x",
                               id_number_digest("C001", "44010119900101123x"))
    assert utf8[1][0][7] == dt.datetime(2026, 12, 31, 15, 59, 59, tzinfo=dt.timezone.utc)
    assert verify_password("123456", utf8[2]) and verify_password("123456", gbk[2])
    assert utf8[3] == gbk[3] == "scrypt$1$1$1$AA==$AA=="


def test_a_type_held_by_another_importer_is_busy_and_left_alone(db_url, engine, tmp_path):
    from cti.storage.db import make_engine as engine_for
    first = Importer(engine, holder="ctid watcher")
    assert first.import_file(write_batch(tmp_path, "CUSTOMER", 1, CUSTOMERS)).outcome == "applied"
    other = engine_for(db_url, sqlite_timeout=0.2)
    try:
        with engine.connect() as holder:
            transaction = holder.begin()
            holder.exec_driver_sql("UPDATE import_locks SET holder = 'ctictl import' "
                                   "WHERE record_type = 'CUSTOMER'")
            result = Importer(other, holder="second").import_file(
                write_batch(tmp_path, "CUSTOMER", 2, ["A|C003|李四|person|||"]))
            transaction.rollback()
        assert result.outcome == "busy" and "another import of CUSTOMER" in result.message
        assert count(engine, store.Customer) == 2
        again = Importer(other, holder="second").import_file(tmp_path / "CUSTOMER_GD_20261203_000002.txt")
        assert again.outcome == "applied"
    finally:
        other.dispose()


def test_two_importers_at_once_apply_a_batch_once(db_url, engine, tmp_path):
    import threading
    from cti.storage.db import make_engine as engine_for
    path = write_batch(tmp_path, "CUSTOMER", 1, [f"A|C{n:06d}|客户{n}|person|||" for n in range(20000)])
    engines = [engine_for(db_url, sqlite_timeout=30) for _ in range(2)]
    outcomes = []
    try:
        threads = [threading.Thread(target=lambda e=e: outcomes.append(
            Importer(e, holder="racer").import_file(path).outcome)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for e in engines:
            e.dispose()
    assert sorted(outcomes) in (["applied", "busy"], ["applied", "duplicate"])
    assert count(engine, store.Customer) == 20000 and count(engine, store.ImportBatch) == 1


def test_progress_is_reported_up_to_every_row(engine, tmp_path):
    calls = []
    importer = Importer(engine, holder="test", chunk_rows=1000)
    result = importer.import_file(
        write_batch(tmp_path, "CUSTOMER", 1, [f"A|C{n:06d}|客户{n}|person|||" for n in range(5000)]),
        lambda done, total: calls.append((done, total)))
    assert result.outcome == "applied"
    assert calls[-1] == (5000, 5000) and all(t == 5000 for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_crlf_a_byte_order_mark_and_an_empty_batch(importer, engine, tmp_path):
    path = write_batch(tmp_path, "CUSTOMER", 1, CUSTOMERS, crlf=True)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = importer.import_file(path)
    assert (result.outcome, result.added) == ("applied", 2), result.report()
    assert result.loader == ("copy" if engine.dialect.name == "postgresql" else "rows")
    phone = run_in_session(make_session_factory(engine), lambda s: s.scalar(
        select(store.Customer.contact_phone).where(store.Customer.customer_key == "C001")))
    assert phone == "020-1234567"                       # no carriage return left on it
    empty = importer.import_file(write_batch(tmp_path, "CUSTOMER", 2, []))
    assert (empty.outcome, empty.rows) == ("applied", 0)
    assert count(engine, store.ImportBatch) == 2


def test_a_byte_copy_would_take_for_a_quote_is_plain_data(importer, engine, tmp_path):
    """0x01 is the quote of the COPY dialect: a file holding it is read row by row, so a field
    around it is neither merged with its neighbour nor stripped of it."""
    result = importer.import_file(write_batch(tmp_path, "CUSTOMER", 1, [
        "A|C001|\x01张三|person||\x01|", "A|C002|\x01李四\x01|person|||"]))
    assert (result.outcome, result.loader) == ("applied", "rows")
    names = run_in_session(make_session_factory(engine), lambda s: s.execute(
        select(store.Customer.name, store.Customer.address).order_by(store.Customer.customer_key)).all())
    assert [tuple(n) for n in names] == [("\x01张三", "\x01"), ("\x01李四\x01", None)]
