/* noiouring.c - run a program under a seccomp filter that refuses io_uring. */
/*
 * usage: noiouring ERRNO PROGRAM [ARG...]
 * io_uring_setup(2) fails with ERRNO (a number: 1 is EPERM, 38 ENOSYS), as
 * it does under a container runtime's default seccomp profile; every other
 * system call is allowed.  The tests run `pollserv --io uring-poll` under
 * it to check the one-line refusal and exit status 1.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sock_filter filter[4];
	struct sock_fprog prog;
	int err;

	if (argc < 3) {
		fprintf(stderr, "usage: noiouring ERRNO PROGRAM [ARG...]\n");
		return 2;
	}
	err = atoi(argv[1]);
	/* Load the system call number; io_uring_setup gets ERRNO. */
	filter[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr));
	filter[1] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    __NR_io_uring_setup, 0, 1);
	filter[2] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA));
	filter[3] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ALLOW);
	prog.len = sizeof(filter) / sizeof(filter[0]);
	prog.filter = filter;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1) {
		perror("noiouring: seccomp");
		return 127;
	}
	execv(argv[2], argv + 2);
	perror("noiouring: execv");
	return 127;
}
