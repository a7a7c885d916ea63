"""AstDB actions: ``DBPut``, ``DBGet``, ``DBGetTree``, ``DBDel``, ``DBDelTree``.

Shapes follow ``main/db.c`` (the captures hold none of these): a missing family or key is an
error named for it; ``DBGet`` of a missing entry is ``Database entry not found``; a found
entry, and every tree read (even an empty one), is an event list. Tree items carry the full
AstDB key, ``/family/key``, as the ``sqlite3`` backend stores it. The database is the engine's
``pbx.database``, the one the dialplan's ``DB()`` function reads and writes.
"""
from __future__ import annotations

from cti.protocol.ami_message import Message

from .. import privileges as p
from ..responses import ack, error, header, list_ack, list_complete, list_item
from .base import ActionSpec, Context, Outcome


def _db(ctx: Context) -> dict:
    return ctx.pbx.database if ctx.pbx is not None else {}


def _family_key(request: Message, key_needed: bool = True):
    family, key = header(request, "Family"), header(request, "Key")
    if not family:
        return None, None, error(request, "No family specified.")
    if key_needed and not key:
        return None, None, error(request, "No key specified.")
    return family, key, None


def db_put(ctx: Context, request: Message):
    family, key, problem = _family_key(request)
    if problem:
        return Outcome([problem])
    _db(ctx)[(family, key)] = header(request, "Val")
    return Outcome([ack(request, "Updated database successfully")])


def db_get(ctx: Context, request: Message):
    family, key, problem = _family_key(request)
    if problem:
        return Outcome([problem])
    value = _db(ctx).get((family, key))
    if value is None:
        return Outcome([error(request, "Database entry not found")])
    item = list_item(request, "DBGetResponse", [("Family", family), ("Key", key), ("Val", value)],
                     id_last=True)
    return Outcome([list_ack(request, "Result will follow"), item,
                    list_complete(request, "DBGetComplete", 1)])


def _under(family: str, key: str):
    def matches(entry: tuple[str, str]) -> bool:
        f, k = entry
        if family and f != family:
            return False
        return not key or k == key or k.startswith(key + "/")
    return matches


def db_get_tree(ctx: Context, request: Message):
    family, key = header(request, "Family"), header(request, "Key")
    if key and not family:
        return Outcome([error(request, "No family specified.")])
    matches = _under(family, key)
    items = [list_item(request, "DBGetTreeResponse", [("Key", f"/{f}/{k}"), ("Val", v)],
                       id_last=True)
             for (f, k), v in sorted(_db(ctx).items()) if matches((f, k))]
    return Outcome([list_ack(request, "Result will follow"), *items,
                    list_complete(request, "DBGetTreeComplete", len(items))])


def db_del(ctx: Context, request: Message):
    family, key, problem = _family_key(request)
    if problem:
        return Outcome([problem])
    if _db(ctx).pop((family, key), None) is None:
        return Outcome([error(request, "Database entry could not be deleted")])
    return Outcome([ack(request, "Key deleted successfully")])


def db_del_tree(ctx: Context, request: Message):
    family, key, problem = _family_key(request, key_needed=False)
    if problem:
        return Outcome([problem])
    db = _db(ctx)
    doomed = [entry for entry in db if _under(family, key)(entry)]
    for entry in doomed:
        del db[entry]
    if not doomed:
        return Outcome([error(request, "Database entry not found")])
    return Outcome([ack(request, "Key tree deleted successfully")])


ACTIONS = [
    ActionSpec("DBPut", p.SYSTEM, db_put),
    ActionSpec("DBGet", p.SYSTEM | p.REPORTING, db_get),
    ActionSpec("DBGetTree", p.SYSTEM | p.REPORTING, db_get_tree),
    ActionSpec("DBDel", p.SYSTEM, db_del),
    ActionSpec("DBDelTree", p.SYSTEM, db_del_tree),
]
