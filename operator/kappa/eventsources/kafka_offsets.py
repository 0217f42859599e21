"""Which offset a Kafka source may commit per partition, whatever order acks come in. Pure.

The runner acknowledges a batch's records in more than one call (filtered
ones, then those the function finished, dead-lettered ones...). Committing
"highest acked + 1" at each call could skip a record still in hand (lost if
the poller died then) or move the group's offset backward. So per partition:
the commit point is the lowest offset still in hand or waiting to be fetched
again after a release, else one past the highest acked; it only moves forward.
"""

from dataclasses import dataclass, field

Partition = tuple[str, int]


@dataclass
class PartitionProgress:
    """Offsets in hand, done, and committed, per (topic, partition)."""

    in_hand: dict[Partition, set[int]] = field(default_factory=dict)
    done_upto: dict[Partition, int] = field(default_factory=dict)
    resume_at: dict[Partition, int] = field(default_factory=dict)
    committed: dict[Partition, int] = field(default_factory=dict)

    def fetched(self, partition: Partition, offsets: list[int]) -> None:
        """Records handed out."""
        if not offsets:
            return
        self.in_hand.setdefault(partition, set()).update(offsets)
        # The group's position when this member first fetched: nothing to commit below it.
        self.committed.setdefault(partition, min(offsets))
        resume = self.resume_at.get(partition)
        if resume is not None and resume in offsets:
            del self.resume_at[partition]  # the released records are in hand again

    def acked(self, partition: Partition, offsets: list[int]) -> int | None:
        """Records done for good; the offset to commit now, or None if it would not advance."""
        self.in_hand.get(partition, set()).difference_update(offsets)
        self.done_upto[partition] = max(self.done_upto.get(partition, 0), max(offsets) + 1)
        point = self._commit_point(partition)
        if point <= self.committed.get(partition, point):
            return None
        self.committed[partition] = point
        return point

    def released(self, partition: Partition, offsets: list[int]) -> int:
        """Records to fetch again; the offset to seek the partition to."""
        held = self.in_hand.get(partition, set())
        held.difference_update(offsets)
        seek = min(offsets)
        held.difference_update({o for o in held if o > seek})  # fetched again after the seek
        self.resume_at[partition] = min(seek, self.resume_at.get(partition, seek))
        return seek

    def forget(self, partition: Partition) -> None:
        """The partition went to another group member."""
        for table in (self.in_hand, self.done_upto, self.resume_at, self.committed):
            table.pop(partition, None)

    def _commit_point(self, partition: Partition) -> int:
        waiting = set(self.in_hand.get(partition, set()))
        if partition in self.resume_at:
            waiting.add(self.resume_at[partition])
        done = self.done_upto.get(partition, 0)
        return min([*waiting, done])
