"""Background work on a timer: the deletion reaper now; rotation schedulers later."""
