"""Hyperparameter grids of the classical classifiers (`classifier`, `classifier_grid`).

Kept apart from xcorpus.train.classical, which imports torch, scikit-learn and XGBoost, so that
xcorpus.config can refuse a bad grid when the Snakefile loads without importing any of them.
"""

import itertools

CLASSIFIERS = ("logistic", "svm", "xgboost")
# Default grids, in grid order (itertools.product over the parameters as listed, so the first
# parameter varies slowest); a tie in validation UAR keeps the earlier point.
DEFAULT_GRIDS: dict[str, dict[str, list]] = {
    "logistic": {"C": [0.01, 0.1, 1.0, 10.0]},
    "svm linear": {"C": [0.01, 0.1, 1.0, 10.0]},
    "svm rbf": {"C": [0.1, 1.0, 10.0], "gamma": ["scale", 0.001, 0.01, 0.1]},
    "xgboost": {
        "max_depth": [3, 6],
        "n_estimators": [100, 300],
        "learning_rate": [0.05, 0.3],
    },
}
INTEGER_PARAMETERS = ("max_depth", "n_estimators")


def grid_key(experiment: dict) -> str:
    """The name of the experiment's default grid: the classifier, with the kernel for svm."""
    name = experiment["classifier"]
    return f"svm {experiment['svm_kernel']}" if name == "svm" else name


def check_grid(experiment: dict) -> dict[str, list]:
    """The experiment's grid: the default with the parameters `classifier_grid` names replaced
    by its values. Raises ValueError for an unknown parameter or a value out of range."""
    key = grid_key(experiment)
    grid = dict(DEFAULT_GRIDS[key])
    for name, values in experiment["classifier_grid"].items():
        if name not in grid:
            raise ValueError(
                f"classifier_grid: {name!r} is not a parameter of {key}; its parameters: "
                f"{', '.join(grid)}"
            )
        if not isinstance(values, list) or not values:
            raise ValueError(f"classifier_grid: {name} needs a non-empty list of values")
        for value in values:
            _check_value(name, value)
        grid[name] = list(values)
    return grid


def _check_value(name: str, value) -> None:
    if name == "gamma" and value == "scale":
        return
    integer = name in INTEGER_PARAMETERS
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        wanted = "a positive integer" if integer else "a positive number"
        extra = ' or "scale"' if name == "gamma" else ""
        raise ValueError(f"classifier_grid: {name}: {value!r} is not {wanted}{extra}")


def grid_points(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values, in grid order."""
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
