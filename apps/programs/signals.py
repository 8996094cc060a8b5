"""What the programs app announces to the apps above it (apps.scheduling), which it cannot import.

Sent inside the writing transaction with the program row locked and before its audit event, the lock
order every writer keeps (apps.programs.services): a receiver locks its own rows before the chain.
"""

from __future__ import annotations

from django.dispatch import Signal

# program: the Program whose status just changed (not yet saved); actor: who; now: when.
program_status_changed = Signal()
# program: the Program about to be saved (every write of a program row: start, session, test, status,
# lapse), locked by the writer; actor: who; session: the TrainingSession the save records, when it
# records one and changes nothing else (the start, end and baseline stay). Sent before the save and
# its audit event.
program_saved = Signal()
