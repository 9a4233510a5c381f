/* check_options.c - unit tests for the command line (options.h). */
#define _GNU_SOURCE		/* open_memstream */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_suites.h"
#include "io.h"
#include "log.h"
#include "options.h"

/*
 * Parse a NULL-terminated argument list (without argv[0]) into cfg, which
 * starts from the defaults.  argv is copied because getopt_long may
 * permute it.
 */
static enum options_result
parse(struct config *cfg, char *err, const char *const args[])
{
	char *argv[32];
	int argc = 0;

	argv[argc++] = (char *)"pollserv";
	while (args[argc - 1] != NULL && argc < 31) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	options_defaults(cfg);
	err[0] = '\0';
	return options_parse(argc, argv, cfg, err, 256);
}

#define PARSE(cfg, err, ...) \
	parse((cfg), (err), (const char *const[]){ __VA_ARGS__, NULL })

/* An error must come with a one-line reason. */
static void
expect_error(const char *const args[], const char *mention)
{
	struct config cfg;
	char err[256];
	enum options_result r;

	r = parse(&cfg, err, args);
	ck_assert_msg(r == OPTIONS_ERROR, "%s %s: want OPTIONS_ERROR, got %d",
	    args[0], args[1] != NULL ? args[1] : "", (int)r);
	ck_assert_msg(err[0] != '\0', "%s: no reason given", args[0]);
	ck_assert_msg(strchr(err, '\n') == NULL, "reason is not one line: "
	    "\"%s\"", err);
	if (mention != NULL)
		ck_assert_msg(strstr(err, mention) != NULL,
		    "reason \"%s\" does not mention \"%s\"", err, mention);
}

#define EXPECT_ERROR(mention, ...) \
	expect_error((const char *const[]){ __VA_ARGS__, NULL }, (mention))

START_TEST(test_options_defaults)
{
	struct config cfg;
	char err[256];

	memset(&cfg, 0xa5, sizeof(cfg));
	options_defaults(&cfg);
	ck_assert_str_eq(cfg.listen.host, "127.0.0.1");
	ck_assert_int_eq(cfg.listen.port, 4001);
	ck_assert_int_eq(cfg.mode, MODE_CHAT);
	ck_assert_ptr_nonnull(cfg.io);
	ck_assert_str_eq(cfg.io->name, "busy");
	ck_assert_ptr_eq(cfg.io, &io_busy);
	ck_assert_int_eq(cfg.max_clients, 10000);
	ck_assert_uint_eq(cfg.max_line, 4096);
	ck_assert_uint_eq(cfg.max_outbuf, 1024 * 1024);
	ck_assert_uint_eq(cfg.stats_interval, 0);

	/* No options: run with the defaults. */
	ck_assert_int_eq(parse(&cfg, err, (const char *const[]){ NULL }),
	    OPTIONS_RUN);
	ck_assert_str_eq(cfg.listen.host, "127.0.0.1");
	ck_assert_int_eq(cfg.listen.port, 4001);
	ck_assert_ptr_eq(cfg.io, &io_busy);
}
END_TEST

START_TEST(test_options_listen)
{
	struct config cfg;
	char err[256];

	ck_assert_int_eq(PARSE(&cfg, err, "--listen", "127.0.0.1:0"),
	    OPTIONS_RUN);
	ck_assert_str_eq(cfg.listen.host, "127.0.0.1");
	ck_assert_int_eq(cfg.listen.port, 0);
	ck_assert_int_eq(PARSE(&cfg, err, "-l", "5000"), OPTIONS_RUN);
	ck_assert_str_eq(cfg.listen.host, "127.0.0.1");
	ck_assert_int_eq(cfg.listen.port, 5000);
	ck_assert_int_eq(PARSE(&cfg, err, "--listen=0.0.0.0:65535"),
	    OPTIONS_RUN);
	ck_assert_str_eq(cfg.listen.host, "0.0.0.0");
	ck_assert_int_eq(cfg.listen.port, 65535);
	ck_assert_int_eq(PARSE(&cfg, err, "-l", "[::1]:0"), OPTIONS_RUN);
	ck_assert_str_eq(cfg.listen.host, "::1");
	ck_assert_int_eq(cfg.listen.port, 0);
	ck_assert_int_eq(PARSE(&cfg, err, "-l0"), OPTIONS_RUN);
	ck_assert_int_eq(cfg.listen.port, 0);
}
END_TEST

START_TEST(test_options_mode_io)
{
	struct config cfg;
	char err[256];
	int i;

	ck_assert_int_eq(PARSE(&cfg, err, "--mode", "echo"), OPTIONS_RUN);
	ck_assert_int_eq(cfg.mode, MODE_ECHO);
	ck_assert_int_eq(PARSE(&cfg, err, "-m", "chat"), OPTIONS_RUN);
	ck_assert_int_eq(cfg.mode, MODE_CHAT);
	ck_assert_int_eq(PARSE(&cfg, err, "--io", "select"), OPTIONS_RUN);
	ck_assert_ptr_eq(cfg.io, &io_select);
	/* Every driver in the table can be chosen by name. */
	for (i = 0; io_drivers[i] != NULL; i++) {
		ck_assert_int_eq(PARSE(&cfg, err, "-i", io_drivers[i]->name),
		    OPTIONS_RUN);
		ck_assert_ptr_eq(cfg.io, io_drivers[i]);
		ck_assert_ptr_eq(io_find(io_drivers[i]->name), io_drivers[i]);
	}
	ck_assert_ptr_null(io_find("bogus"));
	ck_assert_ptr_null(io_find(""));
}
END_TEST

START_TEST(test_options_numbers)
{
	struct config cfg;
	char err[256];

	ck_assert_int_eq(PARSE(&cfg, err, "--max-clients", "2",
	    "--max-line", "16", "--max-outbuf", "65536",
	    "--stats-interval", "5"), OPTIONS_RUN);
	ck_assert_int_eq(cfg.max_clients, 2);
	ck_assert_uint_eq(cfg.max_line, 16);
	ck_assert_uint_eq(cfg.max_outbuf, 65536);
	ck_assert_uint_eq(cfg.stats_interval, 5);
	/* The other settings stay at their defaults. */
	ck_assert_ptr_eq(cfg.io, &io_busy);
	ck_assert_int_eq(cfg.listen.port, 4001);
	ck_assert_int_eq(PARSE(&cfg, err, "--max-clients=7"), OPTIONS_RUN);
	ck_assert_int_eq(cfg.max_clients, 7);
}
END_TEST

/* Chat replies must fit an empty output buffer: a /who (up to ~3.4 KB)
 * or a longest relayed line.  Echo has no replies of its own. */
START_TEST(test_options_outbuf_floor)
{
	struct config cfg;
	char err[256];

	EXPECT_ERROR("--max-outbuf", "--max-outbuf", "4095");
	EXPECT_ERROR("--max-outbuf", "--max-line", "8000", "--max-outbuf",
	    "8000");
	ck_assert_int_eq(PARSE(&cfg, err, "--max-outbuf", "4096",
	    "--max-line", "16"), OPTIONS_RUN);
	ck_assert_int_eq(PARSE(&cfg, err, "--max-line", "8000",
	    "--max-outbuf", "8040"), OPTIONS_RUN);
	ck_assert_int_eq(PARSE(&cfg, err, "--mode", "echo", "--max-outbuf",
	    "1"), OPTIONS_RUN);
	ck_assert_uint_eq(cfg.max_outbuf, 1);
}
END_TEST

START_TEST(test_options_verbosity)
{
	struct config cfg;
	char err[256];
	int def;

	options_defaults(&cfg);
	def = cfg.verbosity;
	ck_assert_int_eq(PARSE(&cfg, err, "-v"), OPTIONS_RUN);
	ck_assert_int_gt(cfg.verbosity, def);
	ck_assert_int_eq(PARSE(&cfg, err, "-q"), OPTIONS_RUN);
	ck_assert_int_lt(cfg.verbosity, def);
}
END_TEST

START_TEST(test_options_help_version)
{
	struct config cfg;
	char err[256];

	ck_assert_int_eq(PARSE(&cfg, err, "-h"), OPTIONS_HELP);
	ck_assert_int_eq(PARSE(&cfg, err, "--help"), OPTIONS_HELP);
	ck_assert_int_eq(PARSE(&cfg, err, "-V"), OPTIONS_VERSION);
	ck_assert_int_eq(PARSE(&cfg, err, "--version"), OPTIONS_VERSION);
}
END_TEST

START_TEST(test_options_errors)
{
	EXPECT_ERROR("bogus", "--io", "bogus");
	EXPECT_ERROR("bogus", "--mode", "bogus");
	EXPECT_ERROR(NULL, "--listen", "127.0.0.1:70000");
	EXPECT_ERROR(NULL, "--listen", "70000");
	EXPECT_ERROR(NULL, "--listen", "127.0.0.1:");
	EXPECT_ERROR(NULL, "--listen", "127.0.0.1:-1");
	EXPECT_ERROR(NULL, "--listen", "127.0.0.1:http");
	EXPECT_ERROR(NULL, "--listen", "[::1");
	EXPECT_ERROR(NULL, "--max-clients", "-1");
	EXPECT_ERROR(NULL, "--max-clients", "abc");
	EXPECT_ERROR(NULL, "--max-line", "-1");
	EXPECT_ERROR(NULL, "--max-line", "12x");
	EXPECT_ERROR(NULL, "--max-outbuf", "-1");
	EXPECT_ERROR(NULL, "--max-outbuf", "");
	EXPECT_ERROR(NULL, "--stats-interval", "-1");
	EXPECT_ERROR(NULL, "--bogus");
	EXPECT_ERROR(NULL, "-Z");
	EXPECT_ERROR(NULL, "--listen");
	EXPECT_ERROR(NULL, "stray-argument");
}
END_TEST

/* The adaptive driver's knobs: --spin-us and --spin. */
START_TEST(test_options_spin)
{
	struct config cfg;
	char err[256];

	options_defaults(&cfg);
	ck_assert_uint_eq(cfg.spin_us, 25);
	ck_assert_int_eq(cfg.spin, IO_SPIN_EPOLL);
	ck_assert_int_eq(PARSE(&cfg, err, "--io", "adaptive", "--spin-us", "0",
	    "--spin", "busy"), OPTIONS_RUN);
	ck_assert_ptr_eq(cfg.io, &io_adaptive);
	ck_assert_uint_eq(cfg.spin_us, 0);
	ck_assert_int_eq(cfg.spin, IO_SPIN_BUSY);
	ck_assert_int_eq(PARSE(&cfg, err, "--spin-us=1000000", "--spin=epoll"),
	    OPTIONS_RUN);
	ck_assert_uint_eq(cfg.spin_us, 1000000);
	ck_assert_int_eq(cfg.spin, IO_SPIN_EPOLL);
	EXPECT_ERROR("--spin-us", "--spin-us", "1000001");
	EXPECT_ERROR("--spin-us", "--spin-us", "-1");
	EXPECT_ERROR("--spin-us", "--spin-us", "");
	EXPECT_ERROR("sideways", "--spin", "sideways");
	EXPECT_ERROR(NULL, "--spin");
}
END_TEST

/* getopt keeps global state; a second parse in the same process must see
 * its own arguments, also after a parse that failed half-way. */
START_TEST(test_options_parse_twice)
{
	struct config cfg;
	char err[256];

	ck_assert_int_eq(PARSE(&cfg, err, "--io", "select", "-m", "echo"),
	    OPTIONS_RUN);
	ck_assert_int_eq(PARSE(&cfg, err, "--max-line", "16"), OPTIONS_RUN);
	ck_assert_msg(cfg.max_line == 16, "second parse ignored its "
	    "arguments (optind not reset?)");
	ck_assert_ptr_eq(cfg.io, &io_busy);
	ck_assert_int_eq(PARSE(&cfg, err, "--bogus", "-m", "echo"),
	    OPTIONS_ERROR);
	ck_assert_int_eq(PARSE(&cfg, err, "-m", "echo"), OPTIONS_RUN);
	ck_assert_int_eq(cfg.mode, MODE_ECHO);
	ck_assert_int_eq(PARSE(&cfg, err, "-i", "select"), OPTIONS_RUN);
	ck_assert_ptr_eq(cfg.io, &io_select);
}
END_TEST

START_TEST(test_options_usage)
{
	static const char *const words[] = {
		"--listen", "--mode", "--io", "--max-clients", "--max-line",
		"--max-outbuf", "--stats-interval", "--help", "--version",
		NULL
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int i;

	f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	options_usage(f);
	fclose(f);
	ck_assert_uint_gt(len, 0);
	for (i = 0; words[i] != NULL; i++)
		ck_assert_msg(strstr(text, words[i]) != NULL,
		    "usage does not mention %s", words[i]);
	for (i = 0; io_drivers[i] != NULL; i++)
		ck_assert_msg(strstr(text, io_drivers[i]->name) != NULL,
		    "usage does not list driver %s", io_drivers[i]->name);
	free(text);
}
END_TEST

Suite *
options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_options_defaults);
	tcase_add_test(tc, test_options_listen);
	tcase_add_test(tc, test_options_mode_io);
	tcase_add_test(tc, test_options_numbers);
	tcase_add_test(tc, test_options_outbuf_floor);
	tcase_add_test(tc, test_options_verbosity);
	tcase_add_test(tc, test_options_help_version);
	tcase_add_test(tc, test_options_errors);
	tcase_add_test(tc, test_options_spin);
	tcase_add_test(tc, test_options_parse_twice);
	tcase_add_test(tc, test_options_usage);
	suite_add_tcase(s, tc);
	return s;
}
