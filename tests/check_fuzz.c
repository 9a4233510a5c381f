/* check_fuzz.c - replay the fuzz seed corpus and every saved crash input. */
/*
 * The libFuzzer harness is compiled into the test binary as is, and every
 * file in tests/fuzz/corpus and tests/fuzz/regressions goes through it
 * once.  A regression aborts (or trips a sanitizer in SANITIZE=1 builds),
 * which Check reports as an error in this test.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "check_suites.h"
#include "fuzz/fuzz_chat.c"

/* Feed every regular file in dir to the harness; returns how many. */
static int
fuzz_replay_dir(const char *dir)
{
	char path[4096];
	struct dirent *d;
	unsigned char *data;
	DIR *dp;
	FILE *f;
	long len;
	int n = 0;

	dp = opendir(dir);
	ck_assert_msg(dp != NULL, "cannot open %s", dir);
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.' || strcmp(d->d_name, "README") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		f = fopen(path, "rb");
		ck_assert_msg(f != NULL, "cannot open %s", path);
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		data = malloc(len > 0 ? (size_t)len : 1);
		ck_assert_ptr_nonnull(data);
		ck_assert_uint_eq(fread(data, 1, (size_t)len, f), (size_t)len);
		fclose(f);
		LLVMFuzzerTestOneInput(data, (size_t)len);
		free(data);
		n++;
	}
	closedir(dp);
	return n;
}

START_TEST(test_fuzz_corpus)
{
	ck_assert_int_gt(fuzz_replay_dir(TESTS_DIR "/fuzz/corpus"), 0);
}
END_TEST

START_TEST(test_fuzz_regressions)
{
	(void)fuzz_replay_dir(TESTS_DIR "/fuzz/regressions");
}
END_TEST

Suite *
fuzz_suite(void)
{
	Suite *s = suite_create("fuzz");
	TCase *tc = tcase_create("replay");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fuzz_corpus);
	tcase_add_test(tc, test_fuzz_regressions);
	suite_add_tcase(s, tc);
	return s;
}
