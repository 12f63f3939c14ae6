/* podrun pause: holds a pod's namespaces and, as PID 1 of a shared PID namespace, reaps.
 *
 * Same job as kubernetes build/pause/linux/pause.c, written for podrun: exit 0 on SIGTERM or
 * SIGINT, reap every exited child on SIGCHLD, otherwise sleep in pause(). Built static with
 * `gcc -Os -static` by podrun/runtime/pause/__init__.py so it costs well under 1 MiB.
 * Exit codes: 0 on TERM/INT, 1 if a signal handler cannot be installed, 2 if pause() returns
 * without a signal (cannot happen), 3 when run as something other than PID 1 with --check-pid1.
 */
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "--check-pid1") == 0 && getpid() != 1)
		return 3;
	if (handle(SIGTERM, on_term, 0) < 0 || handle(SIGINT, on_term, 0) < 0 ||
	    handle(SIGCHLD, on_chld, SA_NOCLDSTOP | SA_RESTART) < 0)
		return 1;
	for (;;)
		pause();
	return 2;
}
