/* podrun pause: holds a pod's namespaces and, as PID 1 of a shared PID namespace, reaps.
 *
 * Same job as kubernetes build/pause/linux/pause.c, written for podrun: exit 0 on SIGTERM or
 * SIGINT, reap every exited child on SIGCHLD, otherwise sleep in pause(). Built static with
 * `gcc -Os -static` by podrun/runtime/pause/__init__.py so it costs well under 1 MiB.
 *
 * `--root DIR`: before anything else the pause gives itself a root of its own, so that a
 * container reaching it through /proc/1/root, /proc/1/cwd or /proc/1/fd (shared PID namespace
 * and SYS_PTRACE) finds nothing of the host. It is started in a mount namespace of its own
 * (runtime/sandbox.py), makes every mount private, mounts an empty read-only tmpfs on DIR
 * (any host directory: the mount is only in this namespace), pivots into it and detaches the
 * old root, chdir("/"), closes fds 0-2 (the only ones it holds), then runs as 65535:65535
 * (the kubernetes pause image's user) with no capability in any set and no_new_privs.
 * Each failure is written to fd 1 before exit 4; the launcher reads fd 1 to EOF (closed on
 * success) to know the pause is isolated.
 *
 * Exit codes: 0 on TERM/INT, 1 if a signal handler cannot be installed, 2 if pause() returns
 * without a signal (cannot happen), 3 when run as something other than PID 1 with
 * --check-pid1, 4 when --root fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_ID 65535

static void on_term(int sig) {
	(void)sig;
	_exit(0);
}

static void on_chld(int sig) {
	(void)sig;
	/* several children may have exited behind one SIGCHLD */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static int handle(int sig, void (*fn)(int), int flags) {
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

static int fail(const char *step, const char *target) {
	dprintf(1, "pause: %s %s: %s\n", step, target, strerror(errno));
	return 4;
}

/* The empty root: a read-only tmpfs with room for nothing, pivot_root(".", ".") then the old
 * root lazily detached (as runtime/child.py pivots a container). */
static int own_root(const char *dir) {
	const unsigned long flags = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail("make private", "/");
	if (mount("tmpfs", dir, "tmpfs", flags, "size=4k,nr_inodes=1,mode=0555") < 0)
		return fail("mount tmpfs on", dir);
	if (chdir(dir) < 0)
		return fail("chdir", dir);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail("pivot_root", dir);
	if (umount2(".", MNT_DETACH) < 0)
		return fail("detach", "the old root");
	if (chdir("/") < 0)
		return fail("chdir", "/");
	return 0;
}

/* Nothing left to lose: every capability out of the bounding set while we may drop them, then
 * the pause user (setuid from 0 clears permitted, effective and ambient), inheritable cleared. */
static int unprivileged(void) {
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return fail("drop", "bounding set");
	if (setgroups(0, NULL) < 0 || setresgid(PAUSE_ID, PAUSE_ID, PAUSE_ID) < 0 ||
	    setresuid(PAUSE_ID, PAUSE_ID, PAUSE_ID) < 0)
		return fail("become", "65535:65535");
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return fail("clear", "capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail("set", "no_new_privs");
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "--check-pid1") == 0 && getpid() != 1)
		return 3;
	if (handle(SIGTERM, on_term, 0) < 0 || handle(SIGINT, on_term, 0) < 0 ||
	    handle(SIGCHLD, on_chld, SA_NOCLDSTOP | SA_RESTART) < 0)
		return 1;
	if (argc > 2 && strcmp(argv[1], "--root") == 0) {
		int rc = own_root(argv[2]);
		if (rc == 0)
			rc = unprivileged();
		if (rc != 0)
			return rc;
		close(0);
		close(1); /* EOF on the launcher's pipe: isolated */
		close(2);
	}
	for (;;)
		pause();
	return 2;
}
