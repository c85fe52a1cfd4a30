from trading.complaints.services import suspension_guard


def section_transition_guard(sender, *, section, to, now, **kwargs) -> None:
    """R37: a suspended section makes no transition until the suspension is lifted."""
    suspension_guard(section=section)
