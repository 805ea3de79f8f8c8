"""The exception tree of the witness package (drawn in ``recorder.witness``)."""


class WitnessError(Exception):
    """Base of the errors that stop the witness from starting; the message says what to fix."""


class SetupError(WitnessError):
    """The witness's name, key or device keys are not usable."""


class StateError(WitnessError):
    """The witness's database cannot be opened, or is not a witness database of this version."""
