"""The incremental batch file the billing system writes (增量文件), sans-IO: name, header, rows.

One file per record type. The first line is the header, every other line a row; fields are
separated by ``|`` and may not contain ``|``, CR or LF. Lines end with LF or CRLF.

    HDR|<TYPE>|<source>|<sequence>|<created YYYYMMDDHHMMSS>|<rows>|<UTF-8 or GBK>
    <op>|<key fields>|<other fields>

``op`` is ``A`` (add), ``U`` (update: every non-key field replaced) or ``D`` (delete: only the
key fields are read). Times are Beijing time (UTC+8) ``YYYYMMDDHHMMSS``, dates ``YYYYMMDD``,
months ``YYYYMM``, money whole fen (分). The name of the file is
``<TYPE>_<REGION>_<YYYYMMDD>_<SEQUENCE>.txt``; its type and sequence must agree with the header.
``docs/customer-import.md`` is the same for the billing team, with examples.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable

from cti.customers.model import CUSTOMER_KINDS, LINE_STATUSES, id_number_digest, mask_id_number
from cti.domain.reasons import bilingual
from cti.storage.passwords import hash_password

SEP = "|"
HEADER_TAG = "HDR"
ENCODINGS = {"UTF-8": "utf-8", "GBK": "gbk"}
OPS = {"A": "add", "U": "update", "D": "delete"}
BEIJING = dt.timezone(dt.timedelta(hours=8))
DEFAULT_TIERS = ("platinum", "diamond", "gold", "silver", "standard")
LANGUAGES = ("zh", "en")
#: PIN hashes: scrypt as for passwords, at a cost a million-row batch can afford when a few
#: per cent of its rows carry a new PIN. A PIN already hashed (``scrypt$...``) is kept as is.
PIN_COST = (2**11, 8, 1)
_NAME = re.compile(r"^(?P<type>[A-Z]+(?:_[A-Z]+)?)_(?P<region>[A-Z0-9]{2,8})_(?P<date>\d{8})_"
                   r"(?P<seq>\d{1,9})\.txt$")


class BatchError(Exception):
    """The batch as a whole is refused; ``kind`` says why in one word, the message in full."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class RowError(ValueError):
    """One row is bad: the message says which field and why (Chinese, then English)."""


@dataclass(frozen=True)
class FileName:
    record_type: str
    region: str
    date: dt.date
    sequence: int


@dataclass(frozen=True)
class Header:
    record_type: str
    source: str
    sequence: int
    created: dt.datetime
    rows: int
    encoding: str            # the header's spelling: UTF-8 or GBK
    codec: str               # Python's codec name


# -- fields ------------------------------------------------------------------------------------

Convert = Callable[[str], object]


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    convert: Convert
    required: bool = True
    columns: tuple[str, ...] = ()     # the staged columns it becomes (default: its own name)

    @property
    def staged(self) -> tuple[str, ...]:
        return self.columns or (self.name,)


def sql(bad: str, cast: str = "{c}"):
    """The same rule for PostgreSQL's set-based check (``importer``): ``bad`` is true for a
    value the converter refuses (it may refuse more, never less); ``cast`` gives the staged
    value. ``{c}`` stands for the column."""
    def mark(convert: Convert) -> Convert:
        convert.sql_bad, convert.sql_cast = bad, cast
        return convert
    return mark


def text(limit: int) -> Convert:
    @sql(f"length({{c}}) > {limit}")
    def convert(value: str) -> str:
        if len(value) > limit:
            raise RowError(bilingual(f"超过 {limit} 个字符", f"longer than {limit} characters"))
        return value
    return convert


def digits(limit: int) -> Convert:
    @sql(f"{{c}} !~ '^[+]?[0-9]+$' OR length({{c}}) > {limit}")
    def convert(value: str) -> str:
        if len(value) > limit or not (value.isascii() and value.lstrip("+").isdigit()):
            raise RowError(bilingual(f"应为不超过 {limit} 位的号码", f"not a number of at most {limit} digits"))
        return value
    return convert


@sql("{c} !~ '^[0-9]{1,9}$'", "CAST({c} AS BIGINT)")
def count(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise RowError(bilingual("应为非负整数", "not a whole number of 0 or more"))
    return int(value)


@sql("{c} !~ '^-?[0-9]{1,15}$'", "CAST({c} AS BIGINT)")
def fen(value: str) -> int:
    body = value[1:] if value.startswith("-") else value
    if not (body.isascii() and body.isdigit()) or len(body) > 15:
        raise RowError(bilingual("金额应为整数分（如 12.50 元写 1250）",
                                 "an amount must be whole fen (12.50 yuan is 1250)"))
    return int(value)


@sql("{c} !~ '^[0-9]{8}$'", "CAST({c} AS DATE)")
def date(value: str) -> dt.date:
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise RowError(bilingual("日期应为 YYYYMMDD", "a date must be YYYYMMDD")) from None


@sql("{c} !~ '^[0-9]{8}([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]$'",
     "CAST(substr({c}, 1, 4) || '-' || substr({c}, 5, 2) || '-' || substr({c}, 7, 2) || ' ' || "
     "substr({c}, 9, 2) || ':' || substr({c}, 11, 2) || ':' || substr({c}, 13, 2) || '+08' "
     "AS TIMESTAMPTZ)")
def timestamp(value: str) -> dt.datetime:
    try:
        if len(value) != 14 or not value.isdigit():
            raise ValueError
        return dt.datetime(int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]),
                           int(value[10:12]), int(value[12:]), tzinfo=BEIJING
                           ).astimezone(dt.timezone.utc)
    except ValueError:
        raise RowError(bilingual("时间应为北京时间 YYYYMMDDHHMMSS",
                                 "a time must be YYYYMMDDHHMMSS, Beijing time")) from None


@sql("{c} !~ '^[0-9]{4}(0[1-9]|1[0-2])$'", "substr({c}, 1, 4) || '-' || substr({c}, 5, 2)")
def period(value: str) -> str:
    if len(value) != 6 or not value.isdigit() or not 1 <= int(value[4:]) <= 12:
        raise RowError(bilingual("账期应为 YYYYMM", "a month must be YYYYMM"))
    return f"{value[:4]}-{value[4:]}"


def one_of(values: tuple[str, ...]) -> Convert:
    allowed = frozenset(values)

    @sql(f"{{c}} NOT IN ({', '.join(repr(v) for v in values)})")
    def convert(value: str) -> str:
        if value not in allowed:
            raise RowError(bilingual(f"应为 {'/'.join(values)} 之一", f"must be one of {', '.join(values)}"))
        return value
    return convert


@sql("{c} NOT IN ('0', '1')", "{c} = '1'")
def flag(value: str) -> bool:
    if value not in ("0", "1"):
        raise RowError(bilingual("应为 0 或 1", "must be 0 or 1"))
    return value == "1"


@sql("NOT ({c} LIKE 'scrypt$%' OR {c} ~ '^[0-9]{4,8}$')",
     "CASE WHEN {c} LIKE 'scrypt$%' THEN {c} END")        # digits: hashed afterwards
def pin(value: str) -> str:
    if value.startswith("scrypt$"):
        return value
    if not (value.isascii() and value.isdigit()) or not 4 <= len(value) <= 8:
        raise RowError(bilingual("密码应为 4 到 8 位数字", "a PIN must be 4 to 8 digits"))
    return hash_password(value, cost=PIN_COST)


# -- record types ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordType:
    code: str                     # in file names and headers: LINE, BILL_ITEM ...
    zh: str
    key: tuple[str, ...]          # the fields naming a record
    fields: tuple[Field, ...]     # in file order, after the op code

    @property
    def staged(self) -> tuple[str, ...]:
        return tuple(c for f in self.fields for c in f.staged)


def _types(tiers: tuple[str, ...]) -> dict[str, RecordType]:
    number = Field("number", "号码", digits(32))
    return {t.code: t for t in (
        RecordType("CUSTOMER", "客户基本资料", ("customer_key",), (
            Field("customer_key", "客户编号", text(32)),
            Field("name", "客户名称", text(120)),
            Field("kind", "客户类型", one_of(CUSTOMER_KINDS)),
            Field("id_number", "证件号码", text(32), False,
                  ("id_number_masked", "id_number_hash")),
            Field("address", "地址", text(255), False),
            Field("contact_phone", "联系电话", text(32), False),
        )),
        RecordType("LINE", "用户基本资料", ("number",), (
            number,
            Field("customer_key", "客户编号", text(32)),
            Field("product", "产品/套餐", text(40), False),
            Field("status", "用户状态", one_of(LINE_STATUSES)),
            Field("tier", "客户级别", one_of(tiers)),
            Field("region", "归属地", text(16), False),
            Field("language", "语种", one_of(LANGUAGES)),
            Field("pin", "服务密码", pin, False, ("pin_hash",)),
            Field("balance_fen", "余额（分）", fen),
            Field("balance_at", "余额时间", timestamp, False),
        )),
        RecordType("PAYMENT", "缴费历史", ("payment_key",), (
            Field("payment_key", "缴费流水号", text(40)),
            number,
            Field("amount_fen", "金额（分）", fen),
            Field("paid_at", "缴费时间", timestamp),
            Field("channel", "缴费渠道", text(20)),
        )),
        RecordType("STATUS", "用户异动", ("change_key",), (
            Field("change_key", "异动流水号", text(40)),
            number,
            Field("old_status", "原状态", one_of(LINE_STATUSES), False),
            Field("new_status", "新状态", one_of(LINE_STATUSES)),
            Field("reason", "原因", text(120)),
            Field("changed_at", "异动时间", timestamp),
        )),
        RecordType("BILL", "客户历史账单", ("number", "period"), (
            number,
            Field("period", "账期", period),
            Field("amount_fen", "金额（分）", fen),
            Field("due_date", "缴费截止日", date),
            Field("paid", "是否已缴", flag),
        )),
        RecordType("BILL_ITEM", "账单明细", ("number", "period", "item_no"), (
            number,
            Field("period", "账期", period),
            Field("item_no", "明细序号", count),
            Field("category", "费用类别", text(20)),
            Field("description", "说明", text(120), False),
            Field("amount_fen", "金额（分）", fen),
        )),
        RecordType("CDR", "用户历史详单（汇总）", ("number", "period", "category"), (
            number,
            Field("period", "账期", period),
            Field("category", "通话类别", text(20)),
            Field("calls", "次数", count),
            Field("minutes", "分钟数", count),
            Field("amount_fen", "金额（分）", fen),
        )),
    )}


RECORD_TYPES = _types(DEFAULT_TIERS)
#: The order the watcher and ``ctictl import`` apply types in, when several files wait: what a
#: row refers to comes first (a bill's line, an item's bill).
TYPE_ORDER = ("CUSTOMER", "LINE", "BILL", "BILL_ITEM", "PAYMENT", "STATUS", "CDR")
#: What the rows of a type refer to, directly or not: a file of one of these still waiting holds
#: back the type's files (their rows would be refused for an unknown reference).
DEPENDS_ON = {
    "CUSTOMER": frozenset(),
    "LINE": frozenset({"CUSTOMER"}),
    "BILL": frozenset({"CUSTOMER", "LINE"}),
    "BILL_ITEM": frozenset({"CUSTOMER", "LINE", "BILL"}),
    "PAYMENT": frozenset({"CUSTOMER", "LINE"}),
    "STATUS": frozenset({"CUSTOMER", "LINE"}),
    "CDR": frozenset({"CUSTOMER", "LINE"}),
}


def record_types(tiers: tuple[str, ...] = DEFAULT_TIERS) -> dict[str, RecordType]:
    return RECORD_TYPES if tuple(tiers) == DEFAULT_TIERS else _types(tuple(tiers))


# -- parsing -----------------------------------------------------------------------------------

def parse_file_name(name: str) -> FileName:
    match = _NAME.match(name)
    if not match or match["type"] not in RECORD_TYPES:
        raise BatchError("name", bilingual(
            f"文件名 {name} 不符合命名规则 <类型>_<地区>_<YYYYMMDD>_<序号>.txt",
            f"file name {name} does not follow <TYPE>_<REGION>_<YYYYMMDD>_<SEQUENCE>.txt "
            f"(types: {', '.join(TYPE_ORDER)})"))
    try:
        day = dt.datetime.strptime(match["date"], "%Y%m%d").date()
    except ValueError:
        raise BatchError("name", bilingual(f"文件名 {name} 的日期无效",
                                           f"file name {name} has no valid date")) from None
    return FileName(match["type"], match["region"], day, int(match["seq"]))


def parse_header(raw: bytes) -> Header:
    """The header line (bytes, without or with its line end)."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")            # a UTF-8 byte-order mark
    try:
        line = raw.rstrip(b"\r\n").decode("ascii")
    except UnicodeDecodeError:
        raise BatchError("header", bilingual("首行不是文件头（应只含 ASCII 字符）",
                                             "the first line is not a header (ASCII only)")) from None
    parts = line.split(SEP)
    shape = "HDR|<TYPE>|<source>|<sequence>|<YYYYMMDDHHMMSS>|<rows>|<UTF-8|GBK>"
    if len(parts) != 7 or parts[0] != HEADER_TAG:
        raise BatchError("header", bilingual(f"文件头格式应为 {shape}", f"the header must be {shape}"))
    _, code, source, seq, created, rows, encoding = parts
    if code not in RECORD_TYPES:
        raise BatchError("header", bilingual(
            f"文件头的记录类型 {code!r} 未知", f"unknown record type {code!r} in the header "
            f"(one of {', '.join(TYPE_ORDER)})"))
    if not source or len(source) > 40:
        raise BatchError("header", bilingual("文件头缺少来源系统", "the header names no source system"))
    if not seq.isdigit() or int(seq) < 1:
        raise BatchError("header", bilingual(f"批次序号 {seq!r} 应为正整数",
                                             f"batch sequence {seq!r} must be a whole number from 1"))
    if not rows.isdigit():
        raise BatchError("header", bilingual(f"记录数 {rows!r} 应为整数", f"row count {rows!r} must be a whole number"))
    if encoding.upper() not in ENCODINGS:
        raise BatchError("header", bilingual(f"文件头的编码 {encoding!r} 应为 UTF-8 或 GBK",
                                             f"the header's encoding {encoding!r} must be UTF-8 or GBK"))
    try:
        when = timestamp(created)
    except RowError:
        raise BatchError("header", bilingual(f"生成时间 {created!r} 应为 YYYYMMDDHHMMSS",
                                             f"creation time {created!r} must be YYYYMMDDHHMMSS")) from None
    return Header(code, source, int(seq), when, int(rows), encoding.upper(),
                  ENCODINGS[encoding.upper()])


def decode_line(raw: bytes, header: Header) -> str:
    """One row's text, or a :class:`RowError` naming the encoding problem."""
    try:
        text_ = raw.decode(header.codec)
    except UnicodeDecodeError as exc:
        raise RowError(bilingual(
            f"第 {exc.start + 1} 字节起不是有效的 {header.encoding} 编码",
            f"not valid {header.encoding} from byte {exc.start + 1} "
            f"(0x{raw[exc.start]:02x})")) from None
    if header.codec == "gbk" and not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            raise RowError(bilingual("文件头声明 GBK，但此行是 UTF-8 编码",
                                     "the header declares GBK but this line is UTF-8"))
    if "\x00" in text_:
        raise RowError(bilingual("含有 NUL 字符", "contains a NUL character"))
    return text_


def parse_row(kind: RecordType, line: str) -> tuple[str, tuple]:
    """``(op, staged values)``; a :class:`RowError` names the first bad field."""
    parts = line.split(SEP)
    op = parts[0]
    if op not in OPS:
        raise RowError(bilingual(f"操作码 {op[:10]!r} 应为 A（新增）、U（修改）或 D（删除）",
                                 f"operation {op[:10]!r} must be A (add), U (update) or D (delete)"))
    fields = kind.fields
    if op == "D":
        if len(parts) - 1 < len(kind.key):
            raise RowError(bilingual(f"删除行至少需要关键字段 {', '.join(kind.key)}",
                                     f"a delete needs the key fields {', '.join(kind.key)}"))
    elif len(parts) - 1 != len(fields):
        raise RowError(bilingual(f"字段数 {len(parts) - 1}，应为 {len(fields)}",
                                 f"{len(parts) - 1} fields, expected {len(fields)}"))
    out: list = []
    for f, value in zip(fields, parts[1:] if op != "D" else
                        parts[1:] + [""] * (len(fields) + 1 - len(parts))):
        if op == "D" and f.name not in kind.key:
            out.extend([None] * len(f.staged))
            continue
        if not value:
            if f.required:
                raise RowError(bilingual(f"{f.zh}（{f.name}）为空", f"{f.name} is empty"))
            out.extend([None] * len(f.staged))
            continue
        try:
            converted = f.convert(value)
        except RowError as exc:
            raise RowError(f"{f.zh}（{f.name}）: {exc}") from None
        if f.name == "id_number":
            out.extend([mask_id_number(value), id_number_digest(parts[1], value)])
        else:
            out.append(converted)
    return op, tuple(out)
