/* main.c - pollserv: parse the command line, listen, run, exit. */
#include <stdio.h>
#include <stdlib.h>

#include "io.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "options.h"
#include "server.h"

int
main(int argc, char **argv)
{
	struct config cfg;
	struct server srv;
	char err[512];
	int rc;

	switch (options_parse(argc, argv, &cfg, err, sizeof(err))) {
	case OPTIONS_HELP:
		options_usage(stdout);
		return 0;
	case OPTIONS_VERSION:
		printf("pollserv %s\n", POLLSERV_VERSION);
		return 0;
	case OPTIONS_ERROR:
		fprintf(stderr, "pollserv: %s\n", err);
		options_usage(stderr);
		return 2;
	case OPTIONS_RUN:
		break;
	}
	log_set_level((enum log_level)cfg.verbosity);
	/* A driver the kernel will not give us (io_uring switched off or
	 * filtered) is one line and exit 1, like a port that is taken. */
	if (cfg.io->probe != NULL && cfg.io->probe(err, sizeof(err)) == -1) {
		fprintf(stderr, "pollserv: --io %s: %s\n", cfg.io->name, err);
		return 1;
	}
	listen_fit_fd_limit(&cfg);
	if (server_init(&srv, &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "pollserv: %s\n", err);
		return 1;
	}
	loop_install_signals(&srv);
	/* The one stdout line: tests and the bench read the port from it. */
	printf("pollserv: listening on %s (mode %s, io %s)\n", srv.listen_name,
	    cfg.mode == MODE_CHAT ? "chat" : "echo", srv.io->name);
	fflush(stdout);
	rc = loop_run(&srv);
	server_free(&srv);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
