"""Write ownership: which side may change a context's data, fenced inside each database.

While data syncs both ways, exactly one side may accept writes for a context (``catalog``).
Every database that holds the context's data has a ``write_ownership`` row for it:
``(context, owner, epoch)``. Each write transaction calls :meth:`WriteOwnership.guard` first;
on PostgreSQL it reads the row ``FOR SHARE``, so a hand-over (:meth:`WriteOwnership.hand_over`,
``FOR UPDATE``) waits for the writes in flight and every later write sees the new owner. On
SQLite every write transaction starts with ``BEGIN IMMEDIATE`` (see :mod:`.db`), which already
serializes writers. A write that lost the race is refused with :class:`NotWriteOwner`, never
applied on the wrong side: that is the fence that makes "no lost writes" hold even when routing
is late.

``epoch`` counts hand-overs; the operator's tool gives both sides the same epoch, so the rows
and the audit log tell one story.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from strangler_messaging.sqltypes import UtcDateTime, utc_now

OWNERSHIP_TABLE = "write_ownership"


def define_ownership_table(metadata: MetaData, name: str = OWNERSHIP_TABLE) -> Table:
    """Add the write-ownership table to ``metadata``."""
    return Table(
        name, metadata,
        Column("context", String(64), primary_key=True),
        Column("owner", String(64), nullable=False),
        Column("epoch", BigInteger, nullable=False),
        Column("changed_at", UtcDateTime(), nullable=False),
    )


@dataclass(frozen=True, slots=True)
class Ownership:
    """Who owns a context's writes, as one database records it."""

    context: str
    owner: str
    epoch: int
    changed_at: datetime | None


class NotWriteOwner(Exception):
    """A write reached a side that does not own the context's writes; nothing was changed."""

    def __init__(self, ownership: Ownership, me: str) -> None:
        super().__init__(f"{ownership.context} writes are owned by {ownership.owner} "
                         f"(epoch {ownership.epoch}), not {me}")
        self.ownership = ownership
        self.me = me


class WriteOwnership:
    """The ownership row of one context, seen from one side (``me``).

    ``default_owner`` owns the context until the first hand-over: the side the data starts on.
    """

    def __init__(self, table: Table, context: str, *, me: str, default_owner: str) -> None:
        self._table = table
        self._context = context
        self._me = me
        self._default = default_owner

    def read(self, db: Session | Connection) -> Ownership:
        """The current owner, without locking (status pages, the operator's tool)."""
        row = db.execute(select(self._table).where(
            self._table.c.context == self._context)).one_or_none()
        if row is None:
            return Ownership(self._context, self._default, 0, None)
        return Ownership(row.context, row.owner, int(row.epoch), row.changed_at)

    def guard(self, db: Session | Connection) -> Ownership:
        """Raise :class:`NotWriteOwner` unless this side owns the writes; call it first thing.

        Holds a shared lock on the row until the caller's transaction ends.
        """
        current = self._locked(db, for_update=False)
        if current.owner != self._me:
            raise NotWriteOwner(current, self._me)
        return current

    def owns(self, db: Session | Connection) -> bool:
        """Whether this side owns the context now; the same shared lock as :meth:`guard`.

        For work that is skipped rather than refused on the side that does not own it (an
        event reaction both sides see).
        """
        return self._locked(db, for_update=False).owner == self._me

    def hand_over(self, db: Session | Connection, *, to: str, epoch: int) -> Ownership:
        """Record ``to`` as the owner at ``epoch`` in the caller's transaction.

        Waits for write transactions that passed :meth:`guard` to end. Idempotent: handing
        over to the current owner at the current epoch changes nothing.
        """
        current = self._locked(db, for_update=True)
        if (current.owner, current.epoch) == (to, epoch):
            return current
        if epoch < current.epoch:
            raise ValueError(f"epoch {epoch} is older than the recorded {current.epoch}")
        now = utc_now()
        db.execute(update(self._table).where(self._table.c.context == self._context)
                   .values(owner=to, epoch=epoch, changed_at=now))
        return Ownership(self._context, to, epoch, now)

    def _locked(self, db: Session | Connection, *, for_update: bool) -> Ownership:
        postgres = _dialect(db) == "postgresql"
        query = select(self._table).where(self._table.c.context == self._context)
        query = query.with_for_update(read=not for_update) if postgres else query
        row = db.execute(query).one_or_none()
        if row is None:
            # The row must exist to be locked: a writer that saw "no row, so the default owns
            # it" could otherwise commit after a concurrent hand-over inserted one.
            insert = (postgresql if postgres else sqlite).insert(self._table).values(
                context=self._context, owner=self._default, epoch=0, changed_at=utc_now())
            db.execute(insert.on_conflict_do_nothing(index_elements=["context"]))
            row = db.execute(query).one()
        return Ownership(row.context, row.owner, int(row.epoch), row.changed_at)


def _dialect(db: Session | Connection) -> str:
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name
