"""How every bench script prints: each figure beside its ceiling from the same run, and one
summary line per goal, so a reader sees at a glance what was met and by how much.

    from report import Goal
    goal = Goal("feed 200 vs /readyz", target=0.8)
    goal.measure("full feed, PostgreSQL", 1234.0, "req/s", ceiling=("/readyz", 1500.0))
    ...
    goal.summary()          # "goal met" or "short by 0.12 (0.68 < 0.80)"
"""

from dataclasses import dataclass, field


@dataclass
class Goal:
    name: str
    target: float  # the ratio figure / ceiling that meets the goal
    higher_is_better: bool = True
    ratios: list[tuple[str, float]] = field(default_factory=list)

    def measure(
        self, label: str, value: float, unit: str, ceiling: tuple[str, float], ratio: float | None = None
    ) -> float:
        """`ratio`: when given (e.g. the median of rounds' own ratios), kept instead of value / ceiling."""
        ceiling_name, ceiling_value = ceiling
        if ratio is None:
            ratio = value / ceiling_value if ceiling_value else 0.0
        self.ratios.append((label, ratio))
        print(
            f"  {label:<46} {value:>10.4g} {unit:<6} ceiling {ceiling_name} {ceiling_value:>10.4g} {unit:<6}"
            f" ratio {ratio:5.2f} (goal {'≥' if self.higher_is_better else '≤'} {self.target:.2f})",
            flush=True,
        )
        return ratio

    def met(self) -> bool:
        if self.higher_is_better:
            return all(ratio >= self.target for _, ratio in self.ratios)
        return all(ratio <= self.target for _, ratio in self.ratios)

    def summary(self) -> bool:
        if not self.ratios:
            print(f"GOAL {self.name}: not measured", flush=True)
            return False
        if self.met():
            print(f"GOAL {self.name}: goal met", flush=True)
            return True
        pick = min if self.higher_is_better else max
        label, worst = pick(self.ratios, key=lambda item: item[1])
        gap = abs(self.target - worst)
        print(f"GOAL {self.name}: short by {gap:.2f} ({label}: {worst:.2f} vs {self.target:.2f})", flush=True)
        return False
