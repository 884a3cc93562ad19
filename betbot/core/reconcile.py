"""Reconciliation: what really happened to bets of unknown outcome, from the site's books alone.

Pure (no I/O, no clock). The caller reads `/bot/stats/{SYMBOL}` at the session's start (`baseline`) and
again after draining (`site`), and knows what it settled in between. Then

    K = site.bets    - baseline.bets    - settled_bets     how many of the unknown bets ran
    D = site.balance - baseline.balance - settled_profit   their total profit

Each unknown bet either did not run, lost (-stake), or won (`win_profit(stake, payout)`).

Payouts. A win pays what the site pays, which is not always our own rounding of (100 - edge) / chance
(77.77 % at 1 % edge: 1.2730 by ROUND_HALF_UP, the site paid 1.2729). So per (chance, faucet) the payout
is, in this order: the multiplier the site actually paid for it (`paid`, learned from settled bets and
kept in the journal); else every candidate the site's possible roundings give (`payout_candidates`: to 4
places, half-up and down), one chosen per (chance, faucet) for all its bets alike. (`payouts` pins a
multiplier per seq, for callers that know it exactly.)

The algorithm is exact and scales with the number of *distinct* bets, not of bets. Bets with the same
stake and the same payout options are interchangeable: a group of n of them is described by how many lost
(l) and won (w), not by which. So an assignment is a (l, w) per group, and the search is a dynamic
programme over (bets ran, profit in satoshis) -- plus, inside a (chance, faucet) whose payout is not known,
which candidates are still consistent -- rather than a search over subsets. It meets in the middle: a
forward sweep from (0, 0) over the groups before a middle group, a backward sweep from (K, D) over the
groups after it, joined through the middle group without sweeping it (the forward states are indexed by
bets ran and profit modulo the middle group's win + stake, so each of its ran counts costs one look-up).
Each sweep prunes a state unless the other side can still reach the target: exactly K - k more bets must
run, and r bets there can move the profit only between -(their r largest stakes) and +(their r largest
wins). Both sweeps keep back-pointers, so every assignment that explains the books is read off the
meeting states (up to `MAX_EXPLANATIONS`). N identical flat bets are one group, the middle one: O(N).
Three groups of any size cost about the square of one group's choices ((n + 1)(n + 2) / 2 each); 24
bets of all-distinct stakes about 3^12 per side, three times that when their payouts are not known yet
(`bench/bench_reconcile.py`: 256 flat bets in under a millisecond, 256 bets of three kinds in tens of
milliseconds, 24 distinct stakes in seconds). A budget (`MAX_STATES` moves, under a minute of CPU) bounds
the work; beyond it (four or more large groups of unrelated stakes) the result is not balanced and says
so. The caller runs it on a worker thread.

The rule for several explanations (documented and journaled as such, never silent):
- Interchangeable bets: which of two identical bets ran cannot be known and changes no figure; they are
  one assignment. Deterministic choice: in each group, the earliest seqs did not run, then the losses,
  then the wins.
- Distinct assignments (they differ in more than swapping identical bets): the books agree with both by
  construction (the same count, the same profit). If they also agree on every figure the session keeps
  from the verdicts -- wins, amount wagered, the sum of the chances (expected wins), the largest bet, win
  and loss -- the choice changes nothing but which seq carries which verdict, like swapping identical
  bets: the first in seq order (earliest seqs did not run, then lost, then won) is chosen and the detail
  says how many explain the books and that the totals are exact. Otherwise the result is not balanced, with
  a sentence naming two of them: the books cannot tell, and no verdict is guessed.
- None at all (other activity on the account: a deposit, a faucet claim, a bet from another client; or a
  bet counted that is not among the unknown ones): not balanced, and the detail says by how much the books
  differ from the closest assignment.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import accumulate
from typing import Final

from betbot.core.fairness import GameRules, win_profit
from betbot.core.models import BetRequest, SiteStats

__all__ = [
    "MAX_EXPLANATIONS",
    "MAX_STATES",
    "PayoutKey",
    "Reconciliation",
    "Verdict",
    "payout_candidates",
    "payout_key",
    "reconcile",
]

MAX_STATES: Final = 12_000_000  # dynamic-programme moves examined before giving up (seconds of CPU)
MAX_EXPLANATIONS: Final = 64  # distinct assignments read off before calling the books ambiguous
_HUNDRED: Final = Decimal(100)
_SATOSHI: Final = Decimal("0.00000001")
# The site shows payouts to 4 places. Rounding to 2 places as well would double the candidates and make
# books that 4-place candidates explain uniquely ambiguous (0.33703703 or 0.33333333 for a win): left out.
_ROUNDINGS: Final = ((Decimal("0.0001"), ROUND_HALF_UP), (Decimal("0.0001"), ROUND_DOWN))

PayoutKey = tuple[Decimal, bool]  # (chance, faucet): what a payout multiplier depends on


def payout_key(bet: BetRequest) -> PayoutKey:
    """The key of `paid`: the chance and whether it is a faucet bet (its edge)."""
    return (bet.chance, bet.faucet)


def payout_candidates(chance: Decimal, edge: Decimal) -> tuple[Decimal, ...]:
    """The multipliers the site may pay for (100 - edge) / chance, most likely first, without repeats."""
    exact = (_HUNDRED - edge) / chance
    found: list[Decimal] = []
    for step, rounding in _ROUNDINGS:
        value = exact.quantize(step, rounding=rounding)
        if value not in found:
            found.append(value)
    return tuple(found)


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """One unknown bet resolved: `profit` None means it did not run; otherwise it ran with this profit."""

    seq: int
    profit: Decimal | None
    # Why this bet carries this verdict when the books could not single it out (identical bets, or
    # assignments with the same totals); empty when they did. The journal keeps it in the bet's message.
    note: str = ""

    @property
    def ran(self) -> bool:
        return self.profit is not None

    @property
    def won(self) -> bool:
        """A bet that ran with a profit of zero or more won (a loss always costs the stake, above 0)."""
        return self.profit is not None and self.profit >= 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciliation:
    """The verdicts (in seq order) when `balanced`; none otherwise. `detail` is a sentence for people.

    `explanations`: how many distinct assignments (not counting swaps of identical bets) explain the
    books; above 1 only when they agree on every total (see the module docstring). `payouts`: the
    multiplier each (chance, faucet) with a reconciled win was taken to pay.
    """

    verdicts: tuple[Verdict, ...]
    balanced: bool
    detail: str
    bets_ran: int = 0  # K: how many of the unknown bets the site's count says ran
    profit: Decimal = Decimal(0)  # D: what the site's balance says they made
    explanations: int = 0
    payouts: tuple[tuple[PayoutKey, Decimal], ...] = field(default=())


# -- the groups ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Group:
    layer: int  # index of its payout layer: groups of one layer share one payout choice
    stake: int  # satoshis
    wins: tuple[int, ...]  # the win profit in satoshis under each candidate payout of its layer
    seqs: tuple[int, ...]
    chance: Decimal


@dataclass(frozen=True, slots=True)
class _Layer:
    key: PayoutKey | None  # None: a payout pinned per seq
    candidates: tuple[Decimal, ...]


_Choice = tuple[int, int, int]  # (ran, won, win profit per won bet; 0 when won = 0)
_State = tuple[int, int, int]  # (bets ran, profit in satoshis, candidate mask)
_Edge = tuple[_State, _Choice]  # a back-pointer: the state a move came from (or goes to), and the move


class _Level(dict[_State, _Edge | None]):
    """The states at one boundary, each with its first back-pointer (None at the start); `extra` holds the
    others, for the few states reached more than one way (one pointer per state is the common case)."""

    def __init__(self, *args: dict[_State, _Edge | None]) -> None:
        super().__init__(*args)
        self.extra: dict[_State, list[_Edge]] = {}

    def edges(self, state: _State) -> list[_Edge]:
        first = self[state]
        return ([] if first is None else [first]) + self.extra.get(state, [])


def _sats(amount: Decimal) -> int | None:
    scaled = amount.scaleb(8)
    return int(scaled) if scaled == scaled.to_integral_value() else None


def _money(sats: int) -> str:
    return f"{Decimal(sats).scaleb(-8):.8f}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


_MAX_RUNS: Final = 8  # runs of seqs named per fate in a detail; the rest are counted


def _seq_text(seqs: Sequence[int]) -> str:
    """'bet 4', 'bets 1-3, 7', or 'bets 1-3, 7, ... (40 bets)' when the runs are many."""
    runs: list[str] = []
    start = prev = seqs[0]
    for seq in [*seqs[1:], None]:
        if seq is not None and seq == prev + 1:
            prev = seq
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if seq is not None:
            start = prev = seq
    if len(runs) > _MAX_RUNS:
        return f"bets {', '.join(runs[:_MAX_RUNS])}, ... ({len(seqs)} bets)"
    return ("bet " if len(seqs) == 1 else "bets ") + ", ".join(runs)


# -- the dynamic programme ----------------------------------------------------------------------------
class _Bounds:
    """A run of groups: how many bets it holds, and for r of them running, the range of their profit.

    `loose`: only the count prunes (the closest-assignment search must not prune by profit).
    """

    def __init__(self, groups: Sequence[_Group], *, loose: int | None = None) -> None:
        worst: list[int] = []
        best: list[int] = []
        for group in groups:
            worst += [min(-group.stake, *group.wins)] * len(group.seqs)
            best += [max(-group.stake, *group.wins)] * len(group.seqs)
        self.capacity = len(worst)
        if loose is None:
            self.low = [0, *accumulate(sorted(worst))]
            self.high = [0, *accumulate(sorted(best, reverse=True))]
        else:
            self.low = [-loose] * (self.capacity + 1)
            self.high = [loose] * (self.capacity + 1)

    def admits(self, ran: int, profit: int) -> bool:
        return 0 <= ran <= self.capacity and self.low[ran] <= profit <= self.high[ran]


class _OverBudget(Exception):
    """The programme would examine more than MAX_STATES moves."""


@lru_cache(maxsize=4096)
def _wins_by_mask(wins: tuple[int, ...], mask: int) -> tuple[tuple[int, int], ...]:
    """(win profit, the candidates among `mask` that pay it), one entry per distinct win."""
    by_win: dict[int, int] = {}
    for index, win in enumerate(wins):
        bit = 1 << index
        if mask & bit:
            by_win[win] = by_win.get(win, 0) | bit
    return tuple(by_win.items())


def _moves(group: _Group, mask: int, ran_needed: int, profit_needed: int,
           other: _Bounds) -> list[tuple[_Choice, int, int, int]]:
    """The group's moves after which `other` can still make exactly the rest: `ran_needed - r` bets ran
    and `profit_needed - change` profit. Returns (choice, r, change, candidate mask after) for each."""
    stake = group.stake
    by_win = _wins_by_mask(group.wins, mask)
    low, high = other.low, other.high
    moves: list[tuple[_Choice, int, int, int]] = []
    for ran in range(max(0, ran_needed - other.capacity), min(len(group.seqs), ran_needed) + 1):
        rest = ran_needed - ran
        change_low, change_high = profit_needed - high[rest], profit_needed - low[rest]
        base = -stake * ran  # every one of them lost
        if change_low <= base <= change_high:
            moves.append(((ran, 0, 0), ran, base, mask))
        if ran == 0:
            continue
        least, most = change_low - base, change_high - base  # step * won must lie here
        for win, win_mask in by_win:
            step = win + stake  # what a win brings instead of a loss
            if step > 0:
                first, last = -(-least // step), most // step
            elif step < 0:
                first, last = -(-most // step), least // step
            else:
                first, last = (1, ran) if least <= 0 <= most else (1, 0)
            for won in range(max(1, first), min(ran, last) + 1):
                moves.append(((ran, won, win), ran, base + step * won, mask & win_mask))
    return moves


def _all_moves(group: _Group, mask: int) -> list[tuple[_Choice, int, int, int]]:
    """Every move of a small group, unpruned (the sweeps check each against the bounds themselves)."""
    moves: list[tuple[_Choice, int, int, int]] = []
    for ran in range(len(group.seqs) + 1):
        moves.append(((ran, 0, 0), ran, -group.stake * ran, mask))
        for win, win_mask in _wins_by_mask(group.wins, mask):
            moves.extend(((ran, won, win), ran, win * won - group.stake * (ran - won), mask & win_mask)
                         for won in range(1, ran + 1))
    return moves


_SMALL: Final = 4  # groups of up to this many bets: every move tried and checked, no ranges computed


def _sweep(level: _Level, group: _Group, other: _Bounds, *, ran: int, profit: int, sign: int, fresh: int,
           budget: list[int]) -> _Level:
    """One group's moves from every state of `level`: forward (sign 1: from (0, 0) towards (ran, profit)) or
    backward (sign -1: from (ran, profit) towards (0, 0)), keeping a move only if `other` can still finish."""
    after = _Level()
    put = after.setdefault
    extra = after.extra
    if len(group.seqs) <= _SMALL:
        table: dict[int, list[tuple[_Choice, int, int, int]]] = {}
        cap, low, high = other.capacity, other.low, other.high
        for state in level:
            k, total, mask = state
            moves = table.get(mask)
            if moves is None:
                moves = table[mask] = _all_moves(group, mask)
            budget[0] -= len(moves)
            if budget[0] < 0:
                raise _OverBudget
            # Forward, what is left to make is (ran - k', profit - total'); backward, it is (k', total').
            if sign > 0:
                for choice, r, change, mask_after in moves:
                    rest = ran - k - r
                    if 0 <= rest <= cap and low[rest] <= profit - total - change <= high[rest]:
                        key = (k + r, total + change, fresh or mask_after)
                        edge = (state, choice)
                        if put(key, edge) is not edge:
                            extra.setdefault(key, []).append(edge)
            else:
                for choice, r, change, mask_after in moves:
                    rest = k - r
                    if 0 <= rest <= cap and low[rest] <= total - change <= high[rest]:
                        key = (rest, total - change, fresh or mask_after)
                        edge = (state, choice)
                        if put(key, edge) is not edge:
                            extra.setdefault(key, []).append(edge)
        return after
    for state in level:
        k, total, mask = state
        if sign > 0:
            moves = _moves(group, mask, ran - k, profit - total, other)
        else:
            moves = _moves(group, mask, k, total, other)
        budget[0] -= len(moves) + 1  # the ran counts examined cost too, even when no move survives
        if budget[0] < 0:
            raise _OverBudget
        for choice, r, change, mask_after in moves:
            key = (k + sign * r, total + sign * change, fresh or mask_after)
            edge = (state, choice)
            if put(key, edge) is not edge:
                extra.setdefault(key, []).append(edge)
    return after


class _Programme:
    """The groups, their layers, and the bounds of every prefix and suffix of them."""

    def __init__(self, groups: Sequence[_Group], layers: Sequence[_Layer], *, loose: int | None = None) -> None:
        self.groups = groups
        self.full = [(1 << len(layer.candidates)) - 1 for layer in layers]
        count = len(groups)
        self.prefix = [_Bounds(groups[:i], loose=loose) for i in range(count + 1)]
        self.suffix = [_Bounds(groups[i:], loose=loose) for i in range(count + 1)]
        # Meet in the middle: the group where the work on either side of it is about equal (work: the
        # product of each group's choices, a bound the pruning only lowers). That group is not swept: the
        # two sides are joined through it (see `_explanations`).
        work = [math.log((len(g.seqs) + 1) * (len(g.seqs) + 2) / 2 * len(set(g.wins))) for g in groups]
        total = sum(work)
        before = [0.0, *accumulate(work)]
        sides = [max(before[m], total - before[m + 1]) for m in range(count)]
        self.middle = sides.index(min(sides))

    def _layer_full(self, index: int) -> int:
        return self.full[self.groups[index].layer]

    def forward(self, ran: int, profit: int, budget: list[int], upto: int) -> list[_Level]:
        """States after groups[:i] from which groups[i:] can still reach (ran, profit), for i <= upto.

        A state's candidate mask is for the layer of groups[i] (renewed where a layer begins)."""
        groups = self.groups
        levels: list[_Level] = [_Level({(0, 0, self._layer_full(0)): None})]
        for i in range(upto):
            group = groups[i]
            other = self.suffix[i + 1]
            renew = i + 1 < len(groups) and groups[i + 1].layer != group.layer
            fresh = self._layer_full(i + 1) if renew else 0
            level = _sweep(levels[i], group, other, ran=ran, profit=profit, sign=1, fresh=fresh if renew else 0,
                           budget=budget)
            levels.append(level)
        return levels

    def backward(self, ran: int, profit: int, budget: list[int], downto: int) -> dict[int, _Level]:
        """States at boundary j >= downto: what groups[:j] must still make for the whole to reach (ran, profit).

        A state's candidate mask is for the layer of groups[j - 1] (renewed where a layer ends)."""
        groups = self.groups
        last = len(groups)
        levels: dict[int, _Level] = {last: _Level({(ran, profit, self._layer_full(last - 1)): None})}
        for j in range(last - 1, downto - 1, -1):
            group = groups[j]
            other = self.prefix[j]
            renew = j > 0 and groups[j - 1].layer != group.layer
            fresh = self._layer_full(j - 1) if renew else 0
            level = _sweep(levels[j + 1], group, other, ran=ran, profit=profit, sign=-1,
                           fresh=fresh if renew else 0, budget=budget)
            levels[j] = level
        return levels

    def compatible(self, boundary: int, forward_mask: int, backward_mask: int) -> bool:
        """Whether the two sides meeting at `boundary` can share one payout for the layer it cuts through."""
        groups = self.groups
        if 0 < boundary < len(groups) and groups[boundary - 1].layer != groups[boundary].layer:
            return True
        return forward_mask & backward_mask != 0


def _forward_paths(levels: list[_Level], boundary: int, state: _State) -> Iterator[list[_Choice]]:
    """Every choice sequence for groups[:boundary] that leads from the start to `state`."""
    stack: list[tuple[int, _State, tuple[_Choice, ...]]] = [(boundary, state, ())]
    while stack:
        i, at, tail = stack.pop()
        if i == 0:
            yield list(tail)
            continue
        for previous, choice in levels[i].edges(at):
            stack.append((i - 1, previous, (choice, *tail)))


def _backward_paths(levels: dict[int, _Level], boundary: int, last: int, state: _State) -> Iterator[list[_Choice]]:
    """Every choice sequence for groups[boundary:] that leads from `state` to the target."""
    stack: list[tuple[int, _State, tuple[_Choice, ...]]] = [(boundary, state, ())]
    while stack:
        j, at, head = stack.pop()
        if j == last:
            yield list(head)
            continue
        for following, choice in levels[j].edges(at):
            stack.append((j + 1, following, (*head, choice)))


def _explanations(programme: _Programme, ran: int, profit: int, limit: int) -> list[list[_Choice]]:
    """Up to `limit` distinct assignments (a choice per group) that make exactly (ran, profit).

    The forward sweep covers the groups before the middle one, the backward sweep those after it; the
    middle group joins them without being swept: a backward state needs r of its bets to run and the
    forward state it meets to lie exactly `stake * r - (win + stake) * w` below it, so the forward states
    are indexed by (bets ran, profit modulo win + stake) and each r costs one look-up.
    """
    if not programme.suffix[0].admits(ran, profit):
        return []
    budget = [MAX_STATES]
    middle, last = programme.middle, len(programme.groups)
    group = programme.groups[middle]
    forward = programme.forward(ran, profit, budget, middle)
    if len(group.seqs) <= _SMALL:  # a few moves: sweep the middle group too, and meet on equal states
        return _meet(programme, forward, programme.backward(ran, profit, budget, middle), limit)
    backward = programme.backward(ran, profit, budget, middle + 1)
    stake, size = group.stake, len(group.seqs)
    by_win: dict[int, int] = {}
    for index, win in enumerate(group.wins):
        by_win[win] = by_win.get(win, 0) | 1 << index
    exact: dict[tuple[int, int], list[_State]] = {}
    modular: dict[int, dict[tuple[int, int], list[_State]]] = {win: {} for win in by_win if win + stake > 0}
    for state in forward[middle]:
        exact.setdefault(state[:2], []).append(state)
        for win, table in modular.items():
            table.setdefault((state[0], state[1] % (win + stake)), []).append(state)
    found: list[list[_Choice]] = []
    capacity = programme.prefix[middle].capacity
    for back in backward[middle + 1]:
        k, total, back_mask = back
        meets: list[tuple[_State, _Choice, int]] = []  # (forward state, middle choice, candidate mask)
        for r in range(max(0, k - capacity), min(size, k) + 1):
            before = total + stake * r  # where the forward state lies if all r lost
            for front in exact.get((k - r, before), ()):
                meets.append((front, (r, 0, 0), front[2] & back_mask))
            if r == 0:
                continue
            for win, table in modular.items():
                step = win + stake
                for front in table.get((k - r, before % step), ()):
                    won = (before - front[1]) // step
                    if 1 <= won <= r:
                        meets.append((front, (r, won, win), front[2] & back_mask & by_win[win]))
            for win, win_mask in by_win.items():  # a win worth no more than the stake lost: rare, scanned
                if win + stake <= 0:
                    for won in range(1, r + 1):
                        for front in exact.get((k - r, before - (win + stake) * won), ()):
                            meets.append((front, (r, won, win), front[2] & back_mask & win_mask))
        for front, choice, mask in meets:
            if not mask:
                continue
            tails: list[list[_Choice]] = []
            for tail in _backward_paths(backward, middle + 1, last, back):
                tails.append(tail)
                if len(tails) >= limit:
                    break
            for head in _forward_paths(forward, middle, front):
                for tail in tails:
                    found.append([*head, choice, *tail])
                    if len(found) >= limit:
                        return found
    return found


def _meet(programme: _Programme, forward: list[_Level], backward: dict[int, _Level],
          limit: int) -> list[list[_Choice]]:
    """The assignments through equal states at the middle boundary (the smaller side indexed)."""
    middle, last = programme.middle, len(programme.groups)
    fronts, backs = forward[middle], backward[middle]
    small, large = (fronts, backs) if len(fronts) <= len(backs) else (backs, fronts)
    index: dict[tuple[int, int], list[_State]] = {}
    for state in small:
        index.setdefault(state[:2], []).append(state)
    found: list[list[_Choice]] = []
    for state in large:
        for other in index.get(state[:2], ()):
            front, back = (other, state) if small is fronts else (state, other)
            if not programme.compatible(middle, front[2], back[2]):
                continue
            tails = list(itertools.islice(_backward_paths(backward, middle, last, back), limit))
            for head in _forward_paths(forward, middle, front):
                for tail in tails:
                    found.append([*head, *tail])
                    if len(found) >= limit:
                        return found
    return found


def _closest(programme: _Programme, ran: int, profit: int) -> tuple[list[_Choice], int] | None:
    """An assignment with exactly `ran` bets ran whose profit is nearest `profit`, and that profit."""
    budget = [MAX_STATES // 10]  # a diagnosis, not a verdict: it need not cost as much
    split, last = programme.middle, len(programme.groups)
    try:
        forward = programme.forward(ran, profit, budget, split)
        backward = programme.backward(ran, profit, budget, split)
    except _OverBudget:
        return None
    by_ran: dict[int, list[tuple[int, _State]]] = {}
    for state in forward[split]:
        by_ran.setdefault(state[0], []).append((state[1], state))
    for entries in by_ran.values():
        entries.sort()
    best: tuple[int, _State, _State] | None = None
    for back_state in backward[split]:
        entries = by_ran.get(back_state[0], [])
        position = bisect_left(entries, (back_state[1],))
        # The nearest profits first, on both sides; a few steps suffice to find one whose payout agrees.
        for index in sorted(range(max(0, position - 4), min(len(entries), position + 4)),
                            key=lambda i: abs(entries[i][0] - back_state[1])):
            front_profit, front_state = entries[index]
            if programme.compatible(split, front_state[2], back_state[2]):
                gap = back_state[1] - front_profit
                if best is None or abs(gap) < abs(best[0]):
                    best = (gap, front_state, back_state)
                break
    if best is None:
        return None
    gap, front_state, back_state = best
    head = next(_forward_paths(forward, split, front_state))
    tail = next(_backward_paths(backward, split, last, back_state))
    return head + tail, profit - gap


# -- reading an assignment ----------------------------------------------------------------------------
def _verdicts(groups: Sequence[_Group], choices: Sequence[_Choice], also: str = "") -> list[Verdict]:
    """Per group: the earliest seqs did not run, then the losses, then the wins (identical bets)."""
    verdicts: list[Verdict] = []
    for group, (ran, won, win) in zip(groups, choices, strict=True):
        size, not_run = len(group.seqs), len(group.seqs) - ran
        lost = Decimal(-group.stake).scaleb(-8).quantize(_SATOSHI)
        gained = Decimal(win).scaleb(-8).quantize(_SATOSHI)
        notes = [also] if also else []
        if sum(1 for count in (not_run, ran - won, won) if count) > 1:
            notes.insert(0, f"reconciled as one of {size} identical bets ({not_run} did not run, {ran - won} lost, "
                            f"{won} won): which ran cannot be known; the earliest seqs are taken as not run, then lost")
        note = "; ".join(notes)
        for index, seq in enumerate(group.seqs):
            if index < not_run:
                verdicts.append(Verdict(seq=seq, profit=None, note=note))
            elif index < not_run + ran - won:
                verdicts.append(Verdict(seq=seq, profit=lost, note=note))
            else:
                verdicts.append(Verdict(seq=seq, profit=gained, note=note))
    verdicts.sort(key=lambda verdict: verdict.seq)
    return verdicts


def _describe(verdicts: Sequence[Verdict]) -> str:
    """'bets 1-3 did not run; bet 4 lost 0.50000000; bets 5, 7 won 0.49000000 each'."""
    by_fate: dict[str, list[int]] = {}
    for verdict in verdicts:
        if verdict.profit is None:
            fate = "did not run"
        elif verdict.won:
            fate = f"won {verdict.profit:.8f}"
        else:
            fate = f"lost {-verdict.profit:.8f}"
        by_fate.setdefault(fate, []).append(verdict.seq)
    parts = sorted(by_fate.items(), key=lambda item: item[1][0])
    return "; ".join(f"{_seq_text(seqs)} {fate}{' each' if len(seqs) > 1 and fate[0] != 'd' else ''}"
                     for fate, seqs in parts)


def _counts(groups: Sequence[_Group], choices: Sequence[_Choice]) -> str:
    """An assignment by counts: '3 x 0.50000000 at 49.5 %: 1 lost, 1 won 0.49000000, 1 did not run; ...'."""
    parts = []
    for group, (ran, won, win) in zip(groups, choices, strict=True):
        fates = [f"{ran - won} lost" if ran > won else "", f"{won} won {_money(win)}" if won else "",
                 f"{len(group.seqs) - ran} did not run" if ran < len(group.seqs) else ""]
        parts.append(f"{len(group.seqs)} x {_money(group.stake)} at {group.chance} %: "
                     + ", ".join(fate for fate in fates if fate))
    return "; ".join(parts)


def _totals(groups: Sequence[_Group], choices: Sequence[_Choice]) -> tuple[object, ...]:
    """Every figure the session keeps from the verdicts, apart from their order (see the module docstring)."""
    wins = wagered = 0
    chances = Decimal(0)
    largest_bet = largest_win = largest_loss = 0
    for group, (ran, won, win) in zip(groups, choices, strict=True):
        if ran:
            wins += won
            wagered += group.stake * ran
            chances += group.chance * ran
            largest_bet = max(largest_bet, group.stake)
        if won:
            largest_win = max(largest_win, win)
        if ran > won:
            largest_loss = max(largest_loss, group.stake)
    return wins, wagered, chances, largest_bet, largest_win, largest_loss


def _fates(verdicts: Sequence[Verdict]) -> tuple[int, ...]:
    """The order that makes the choice deterministic: did not run < lost < won, seq by seq."""
    return tuple(0 if v.profit is None else 2 if v.won else 1 for v in verdicts)


def _payouts_used(groups: Sequence[_Group], layers: Sequence[_Layer],
                  choices: Sequence[_Choice]) -> list[tuple[_Layer, Decimal]]:
    """For each layer of unknown payout with a reconciled win: the first candidate consistent with them."""
    used: list[tuple[_Layer, Decimal]] = []
    for index, layer in enumerate(layers):
        if len(layer.candidates) < 2:
            continue
        wins = [(group, win) for group, (_, won, win) in zip(groups, choices, strict=True)
                if group.layer == index and won]
        if wins:
            for position, candidate in enumerate(layer.candidates):
                if all(group.wins[position] == win for group, win in wins):
                    used.append((layer, candidate))
                    break
    return used


# -- the answer ---------------------------------------------------------------------------------------
def _unbalanced(detail: str, k: int, delta: Decimal) -> Reconciliation:
    return Reconciliation(verdicts=(), balanced=False, detail=detail, bets_ran=k, profit=delta)


def _payout_options(seq: int, bet: BetRequest, paid: Mapping[PayoutKey, Decimal], rules: GameRules | None,
                    payouts: Mapping[int, Decimal] | None) -> tuple[PayoutKey | None, tuple[Decimal, ...]] | None:
    """The layer key and candidate payouts of one bet; None when nothing says what it pays."""
    if payouts is not None and seq in payouts:
        return None, (payouts[seq],)
    key = payout_key(bet)
    if key in paid:
        return key, (paid[key],)
    if rules is None:
        return None
    return key, payout_candidates(bet.chance, rules.edge_for(bet))


def reconcile(
    *,
    baseline: SiteStats,
    site: SiteStats,
    settled_bets: int,
    settled_profit: Decimal,
    unknown: Sequence[tuple[int, BetRequest]],
    paid: Mapping[PayoutKey, Decimal] | None = None,
    rules: GameRules | None = None,
    payouts: Mapping[int, Decimal] | None = None,
) -> Reconciliation:
    """Resolve the unknown bets from the site's bet count and balance (see the module docstring).

    `paid`: the multiplier the site paid per (chance, faucet), from settled bets. `rules`: the edges, for
    the candidate payouts of a chance the site has not paid yet. `payouts`: a multiplier pinned per seq.
    """
    k = site.bets - baseline.bets - settled_bets
    delta = site.balance - baseline.balance - settled_profit
    books = f"the site counts {_plural(k, 'bet')} and a profit of {delta:.8f} beyond the settled ones"
    if site.currency.upper() != baseline.currency.upper():
        return _unbalanced(f"the baseline is for {baseline.currency} and the site's stats for {site.currency}",
                           k, delta)
    n = len(unknown)
    if len({seq for seq, _ in unknown}) != n:
        return _unbalanced("an unknown bet is listed twice", k, delta)
    if n == 0:
        if k == 0 and delta == 0:
            return Reconciliation(verdicts=(), balanced=True, detail="no unknown bets; the site's books agree",
                                  bets_ran=0, profit=delta)
        return _unbalanced(f"there are no unknown bets, but {books} (other activity on the account?)", k, delta)
    if k < 0:
        return _unbalanced(f"{books}: fewer bets than the session settled (another session's stats?)", k, delta)

    # Layers (one payout choice each) and groups of identical bets within them.
    known = paid or {}
    layer_index: dict[tuple[PayoutKey | None, tuple[Decimal, ...]], int] = {}
    layers: list[_Layer] = []
    members: dict[tuple[int, int, Decimal], list[int]] = {}
    missing: list[int] = []
    for seq, bet in sorted(unknown, key=lambda item: item[0]):
        options = _payout_options(seq, bet, known, rules, payouts)
        stake = _sats(bet.amount)
        if options is None:
            missing.append(seq)
            continue
        if stake is None or stake <= 0:
            return _unbalanced(f"unknown bet {seq} has an amount of {bet.amount}, not a whole number of "
                               "satoshis above 0", k, delta)
        index = layer_index.setdefault(options, len(layers))
        if index == len(layers):
            layers.append(_Layer(key=options[0], candidates=options[1]))
        members.setdefault((index, stake, bet.chance), []).append(seq)
    if missing:
        return _unbalanced(f"no payout multiplier given for unknown bet(s) {', '.join(map(str, missing))}", k, delta)
    groups = [
        _Group(layer=index, stake=stake, chance=chance, seqs=tuple(seqs),
               wins=tuple(_sats(win_profit(Decimal(stake).scaleb(-8), c)) or 0 for c in layers[index].candidates))
        for (index, stake, chance), seqs in sorted(members.items())
    ]
    target = _sats(delta)
    programme = _Programme(groups, layers)
    if k > n:
        return _unbalanced(f"{books}, more than the {_plural(n, 'unknown bet')} (other activity on the account?); "
                           + _closest_text(groups, layers, n, k, delta), k, delta)
    if target is None:
        return _unbalanced(f"{books}: not a whole number of satoshis (other activity on the account?)", k, delta)
    try:
        found = _explanations(programme, k, target, MAX_EXPLANATIONS + 1)
    except _OverBudget:
        return _unbalanced(
            f"{books}; the {_plural(n, 'unknown bet')} ({len(groups)} distinct) allow more assignments than "
            f"reconciliation examines ({MAX_STATES:,} states); check the account by hand", k, delta)
    if not found:
        return _unbalanced(
            f"no combination of the {_plural(n, 'unknown bet')} (each: did not run, lost, or won) explains "
            f"that {books}; " + _closest_text(groups, layers, k, k, delta), k, delta)
    if len(found) > MAX_EXPLANATIONS:
        return _unbalanced(
            f"more than one combination of the {_plural(n, 'unknown bet')} explains that {books} (more than "
            f"{MAX_EXPLANATIONS}); the books cannot tell which bets ran", k, delta)
    readings = sorted(((_fates(v), v, choices) for choices in found for v in [_verdicts(groups, choices)]),
                      key=lambda reading: reading[0])
    totals = {_totals(groups, choices) for _, _, choices in readings}
    if len(totals) > 1:
        return _unbalanced(
            f"more than one combination of the {_plural(n, 'unknown bet')} explains that {books}, with different "
            f"totals, e.g. ({_counts(groups, readings[0][2])}) or ({_counts(groups, readings[1][2])}); the books "
            "cannot tell which bets ran", k, delta)
    _, verdicts, choices = readings[0]
    if len(readings) > 1:
        verdicts = _verdicts(groups, choices, f"one of {len(readings)} assignments with the same totals that "
                                              "explain the books (the first in seq order)")
    used = _payouts_used(groups, layers, choices)
    detail = f"{books}: {_describe(verdicts)}"
    if any(sum(1 for count in (len(g.seqs) - ran, ran - won, won) if count) > 1
           for g, (ran, won, _) in zip(groups, choices, strict=True)):
        detail += " (identical bets are interchangeable: the earliest seqs are taken as not run, then lost)"
    if len(readings) > 1:
        detail += (f"; {len(readings)} distinct assignments explain the books with the same totals (bets, wins, "
                   "profit, wagered, chances, largest bet, win and loss), so the totals are exact; the first in "
                   "seq order was chosen")
    if used:
        detail += "; payouts inferred from the site's possible roundings: " + ", ".join(
            f"{candidate} at {layer.key[0] if layer.key else '?'} %{' (faucet)' if layer.key and layer.key[1] else ''}"
            for layer, candidate in used)
    return Reconciliation(
        verdicts=tuple(verdicts), balanced=True, detail=detail, bets_ran=k, profit=delta,
        explanations=len(readings),
        payouts=tuple((layer.key, candidate) for layer, candidate in used if layer.key is not None))


def _closest_text(groups: Sequence[_Group], layers: Sequence[_Layer], ran: int, k: int, delta: Decimal) -> str:
    """What differs, by how much, between the books and the closest assignment with `ran` bets ran."""
    target = _sats(delta.quantize(_SATOSHI, rounding=ROUND_DOWN)) or 0
    loose = abs(target) + sum(len(g.seqs) * max(g.stake, *map(abs, g.wins)) for g in groups) + 1
    nearest = _closest(_Programme(groups, layers, loose=2 * loose), ran, target)
    if nearest is None:  # too many to search for the nearest: say where the books lie against the bounds
        bounds = _Bounds(groups)
        low, high = bounds.low[ran], bounds.high[ran]
        if target < low:
            return (f"the books show {_plural(k - ran, 'bet')} and {_money(target - low)} more than the lowest "
                    f"profit {_plural(ran, 'bet')} of these could make ({_money(low)})")
        if target > high:
            return (f"the books show {_plural(k - ran, 'bet')} and {_money(target - high)} more than the highest "
                    f"profit {_plural(ran, 'bet')} of these could make ({_money(high)})")
        return "the closest assignment is more than reconciliation examines to find (check the account by hand)"
    choices, made = nearest
    differs = delta - Decimal(made).scaleb(-8)
    return (f"the books show {_plural(k - ran, 'bet')} and {differs:.8f} more than the closest assignment, in which "
            f"{_plural(ran, 'bet')} ran with a profit of {_money(made)} ({_counts(groups, choices)})")
