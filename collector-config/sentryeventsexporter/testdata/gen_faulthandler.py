"""Write testdata/faulthandler/*.txt: what faulthandler really prints when a fatal signal kills
Python (a segfault in C code on the main thread with a second thread alive, abort() deep in a
recursion that overflows faulthandler's 100-frame limit, a segfault in a thread).

    python3 testdata/gen_faulthandler.py
"""

import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "faulthandler")

PROGRAMS = {
    "segv_main": """
        import ctypes, threading, time
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        time.sleep(0.1)
        def inner():
            ctypes.string_at(0)
        def outer():
            inner()
        outer()
    """,
    "abort_deep": """
        import os
        def down(n):
            if n == 0:
                os.abort()
            down(n - 1)
        down(150)
    """,
    "segv_thread": """
        import ctypes, threading
        def crash_in_thread():
            ctypes.string_at(0)
        t = threading.Thread(target=crash_in_thread)
        t.start()
        t.join()
    """,
}


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for name, src in PROGRAMS.items():
        path = os.path.join(OUT, f"{name}.txt")
        script = os.path.join(OUT, f"{name}.py")
        with open(script, "w") as f:
            f.write(
                "import faulthandler, sys\n"
                f"faulthandler.enable(file=open({path!r}, 'w'), all_threads=True)\n"
                + textwrap.dedent(src)
            )
        subprocess.run([sys.executable, script], check=False, stderr=subprocess.DEVNULL)
        os.unlink(script)
        stdlib = os.path.dirname(os.__file__)
        text = open(path).read().replace(OUT, "/app").replace(stdlib, "/usr/lib/python3")
        open(path, "w").write(text)


if __name__ == "__main__":
    main()
