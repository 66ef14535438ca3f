"""Errors and warnings that reach the user as one line (and the Ctrl-C of a training run).

Every problem with the user's input (a file, an emotion, a coordinate, a checkpoint) raises
:class:`EmovaeError` whose message names the thing and says what is wrong; the CLI prints it
as ``emovae: error: <message>`` and exits with status 2, without a traceback. Input that can
still be read by a stated rule (a polyphonic file reduced to its highest line) emits an
:class:`EmovaeWarning` instead.
"""


class EmovaeError(Exception):
    """Bad input: the message names the thing and what is wrong with it (one line)."""


class TrainingDiverged(EmovaeError):
    """A training run's loss or weights stopped being finite numbers: the one line says at which
    epoch and what to change; ``epoch`` is the diverged epoch, ``saved`` the last finite epoch in
    the run's checkpoint (None when none was written)."""

    def __init__(self, message: str, epoch: int, saved: int | None = None):
        super().__init__(message)
        self.epoch = epoch
        self.saved = saved


class EmovaeWarning(UserWarning):
    """Input was read, but by a stated rule the user should know about (one line)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a training run after it saved its state: ``epoch`` epochs are in
    ``checkpoint`` (a path, or None when the run has no output folder)."""

    def __init__(self, epoch: int, checkpoint=None):
        super().__init__(f"interrupted after epoch {epoch}")
        self.epoch = epoch
        self.checkpoint = checkpoint
