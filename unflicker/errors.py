"""Errors a user can act on: each names the input at fault and what is allowed."""


class UnflickerError(ValueError):
    """Bad input or an unusable environment, with a message meant for the user."""


def check_range(name: str, value, low, high):
    """Return ``value`` if ``low <= value <= high``, else raise naming the input and its range."""
    try:
        ok = low <= value <= high
    except TypeError:
        ok = False
    if not ok:
        raise UnflickerError(f"{name} must be between {low} and {high}, got {value!r}")
    return value


def check_choice(name: str, value, allowed):
    if value not in allowed:
        raise UnflickerError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value
