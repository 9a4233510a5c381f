/* check_log.c - the rate limiter on per-client log lines. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_suites.h"
#include "log.h"

/* Run fn with stderr sent to a temporary file; return what it wrote. */
static char *
capture_stderr(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	int saved;
	long len;
	char *text;

	ck_assert_ptr_nonnull(tmp);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	len = ftell(tmp);
	ck_assert_int_gt(len, 0);
	text = calloc(1, (size_t)len + 1);
	rewind(tmp);
	ck_assert_uint_eq(fread(text, 1, (size_t)len, tmp), (size_t)len);
	fclose(tmp);
	return text;
}

static size_t
count(const char *text, const char *needle)
{
	size_t n = 0;

	while ((text = strstr(text, needle)) != NULL) {
		n++;
		text++;
	}
	return n;
}

static void
burst(void)
{
	struct log_limit lim = { 0, 0, 0 };
	int i;

	log_set_level(LOG_INFO);
	for (i = 0; i < 25; i++)	/* all within one second */
		log_limited(&lim, LOG_INFO, 5000 + i, "event %d", i);
	log_limited(&lim, LOG_INFO, 6000, "later");	/* a new second */
	log_limited(&lim, LOG_DEBUG, 6001, "hidden at info level");
}

START_TEST(test_log_limited_burst)
{
	char *text = capture_stderr(burst);

	ck_assert_uint_eq(count(text, "pollserv: event "), LOG_BURST);
	ck_assert_ptr_nonnull(strstr(text, "pollserv: event 9\n"));
	ck_assert_ptr_null(strstr(text, "event 10\n"));
	ck_assert_ptr_nonnull(strstr(text,
	    "(15 similar lines suppressed)\npollserv: later\n"));
	ck_assert_ptr_null(strstr(text, "hidden"));
	free(text);
}
END_TEST

Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("limit");

	tcase_add_test(tc, test_log_limited_burst);
	suite_add_tcase(s, tc);
	return s;
}
