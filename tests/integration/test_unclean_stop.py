"""A restart after renewd was killed says so (docs/operations.md,
"Stopping").

After a SIGKILL (or a crash, or the machine going down) renewd came back
without a word about it: its log read as after any clean stop, and an
operator could not tell from it that work had been cut off.  The next
process that opens the data directory for writing now logs a warning
naming the pid that did not close it; after a clean stop it says nothing.
"""
import signal

from conftest import demo_load

def unclean_lines(log):
    return [x for x in log.splitlines() if "did not close" in x]


def test_a_restart_after_a_kill_says_the_last_run_did_not_stop_cleanly(daemon, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    demo_load(data)
    d = daemon(data=data)  # the fixture stops whatever is left running
    assert unclean_lines(d.log()) == [], d.log()
    d.stop()  # SIGTERM: a clean stop
    d = daemon(data=data)
    assert unclean_lines(d.log()) == [], "a clean stop was taken for an unclean one"
    killed = d.pid
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(timeout=10)
    d = daemon(data=data)
    (line,) = unclean_lines(d.log())
    assert "level=warn" in line and f"pid {killed}" in line, line
    d.stop()
    d = daemon(data=data)
    assert unclean_lines(d.log()) == [], d.log()
    d.stop()
