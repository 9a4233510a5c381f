/* main.c - pollserv: parse the command line, listen, run, exit. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io.h"
#include "listen.h"
#include "log.h"
#include "loop.h"
#include "options.h"
#include "server.h"
#include "workers.h"

/* One server process: the whole program, or one of --workers.  A worker
 * (ready_fd != -1) tells its parent it listens, and the parent prints the
 * listening line for all of them. */
static int
main_serve(struct config *cfg, int ready_fd)
{
	struct server srv;
	char err[512];
	int rc;

	if (server_init(&srv, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "pollserv: %s\n", err);
		return 1;
	}
	loop_install_signals(&srv);
	if (ready_fd != -1) {
		(void)!write(ready_fd, "1", 1);
		close(ready_fd);
	} else {
		log_listening(srv.listen_name, cfg->mode == MODE_CHAT ?
		    "chat" : "echo", srv.io->name);
	}
	rc = loop_run(&srv);
	server_free(&srv);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
main(int argc, char **argv)
{
	struct config cfg;
	char err[512];

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
	if (cfg.mode == MODE_CHAT && !io_serves_chat(cfg.io)) {
		fprintf(stderr, "pollserv: --io %s serves %s mode only, not "
		    "chat (try --mode echo)\n", cfg.io->name, io_modes(cfg.io));
		return 2;
	}
	listen_fit_fd_limit(&cfg);
	if (cfg.io->serve != NULL)
		return cfg.io->serve(&cfg);
	if (cfg.workers > 1)
		return workers_run(&cfg, main_serve);
	return main_serve(&cfg, -1);
}
