"""The four target classes, in the one order used everywhere (targets, confusion rows, tables)."""

CLASSES: tuple[str, ...] = ("neutral", "happy", "sad", "angry")
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}
