/* check_chat.c - unit tests for chat command parsing and nick rules. */
#include <check.h>
#include <string.h>

#include "chat.h"
#include "check_suites.h"

static struct chat_command
parse_str(const char *s)
{
	return chat_parse(s, strlen(s));
}

static bool
nick_ok(const char *s)
{
	return chat_nick_valid(s, strlen(s));
}

struct chat_case {
	const char	*line;
	enum chat_kind	 kind;
};

/* Every line of the table parses to its kind. */
static void
expect_kinds(const struct chat_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(parse_str(c[i].line).kind == c[i].kind,
		    "\"%s\": kind %d, want %d", c[i].line,
		    (int)parse_str(c[i].line).kind, (int)c[i].kind);
}

#define EXPECT_KINDS(...) do {						\
	static const struct chat_case cases_[] = { __VA_ARGS__ };	\
	expect_kinds(cases_, sizeof(cases_) / sizeof(cases_[0]));	\
} while (0)

START_TEST(test_chat_empty_and_message)
{
	ck_assert_int_eq(chat_parse("", 0).kind, CHAT_EMPTY);
	EXPECT_KINDS(
	    { "hello", CHAT_MESSAGE }, { " ", CHAT_MESSAGE },
	    { " /who", CHAT_MESSAGE }, { "who", CHAT_MESSAGE },
	    { "quit", CHAT_MESSAGE });
	/* Binary lines are messages too; the length is what counts. */
	ck_assert_int_eq(chat_parse("a\0b", 3).kind, CHAT_MESSAGE);
	ck_assert_int_eq(chat_parse("\0", 1).kind, CHAT_MESSAGE);
	/* len rules, not the NUL: "exit" followed by more bytes. */
	ck_assert_int_eq(chat_parse("exit\0", 5).kind, CHAT_MESSAGE);
	ck_assert_int_eq(chat_parse("exitXYZ", 4).kind, CHAT_QUIT);
}
END_TEST

START_TEST(test_chat_exit_exactly)
{
	EXPECT_KINDS(
	    { "exit", CHAT_QUIT }, { "exit ", CHAT_MESSAGE },
	    { " exit", CHAT_MESSAGE }, { "Exit", CHAT_MESSAGE },
	    { "EXIT", CHAT_MESSAGE }, { "exits", CHAT_MESSAGE },
	    { "exi", CHAT_MESSAGE });
}
END_TEST

START_TEST(test_chat_commands)
{
	EXPECT_KINDS(
	    { "/quit", CHAT_QUIT }, { "/who", CHAT_WHO },
	    { "/unknown", CHAT_UNKNOWN }, { "/", CHAT_UNKNOWN },
	    { "//", CHAT_UNKNOWN }, { "/ who", CHAT_UNKNOWN },
	    { "/nickname", CHAT_UNKNOWN }, { "/whois", CHAT_UNKNOWN },
	    { "/quitting", CHAT_UNKNOWN }, { "/exit", CHAT_UNKNOWN });
	ck_assert_int_eq(chat_parse("/\0", 2).kind, CHAT_UNKNOWN);
}
END_TEST

START_TEST(test_chat_nick_arg)
{
	struct chat_command c;

	c = parse_str("/nick alice");
	ck_assert_int_eq(c.kind, CHAT_NICK);
	ck_assert_uint_eq(c.arg_len, 5);
	ck_assert_mem_eq(c.arg, "alice", 5);

	c = parse_str("/nick");
	ck_assert_int_eq(c.kind, CHAT_NICK);
	ck_assert_uint_eq(c.arg_len, 0);
	ck_assert(!chat_nick_valid(c.arg != NULL ? c.arg : "", c.arg_len));

	c = parse_str("/nick ");
	ck_assert_int_eq(c.kind, CHAT_NICK);
	ck_assert(!chat_nick_valid(c.arg != NULL ? c.arg : "", c.arg_len));

	/* NAME is the rest of the line, so a space makes it invalid. */
	c = parse_str("/nick bob extra");
	ck_assert_int_eq(c.kind, CHAT_NICK);
	ck_assert(!chat_nick_valid(c.arg, c.arg_len));

	c = chat_parse("/nick a\0b", 9);
	ck_assert_int_eq(c.kind, CHAT_NICK);
	ck_assert(!chat_nick_valid(c.arg, c.arg_len));

	/* The argument points into the line, not a copy. */
	{
		const char line[] = "/nick Zed_9-";
		c = chat_parse(line, sizeof(line) - 1);
		ck_assert_int_eq(c.kind, CHAT_NICK);
		ck_assert_ptr_eq(c.arg, line + 6);
		ck_assert_uint_eq(c.arg_len, 6);
		ck_assert(chat_nick_valid(c.arg, c.arg_len));
	}
}
END_TEST

START_TEST(test_chat_nick_rules)
{
	char n[64];
	int ch;

	ck_assert(nick_ok("a"));
	ck_assert(nick_ok("Alice"));
	ck_assert(nick_ok("A-z_0"));
	ck_assert(nick_ok("-"));
	ck_assert(nick_ok("_"));
	ck_assert(nick_ok("0123456789"));
	ck_assert(!nick_ok(""));
	ck_assert(!nick_ok("a b"));
	ck_assert(!nick_ok("a.b"));
	ck_assert(!nick_ok("a\tb"));
	ck_assert(!nick_ok("caf\xc3\xa9"));
	ck_assert(!chat_nick_valid("ab\0c", 4));
	/* The length given rules: a valid prefix of junk is valid. */
	ck_assert(chat_nick_valid("ab cd", 2));

	memset(n, 'x', sizeof(n));
	ck_assert(chat_nick_valid(n, CHAT_NICK_MAX));
	ck_assert(!chat_nick_valid(n, CHAT_NICK_MAX + 1));
	ck_assert_int_eq(CHAT_NICK_MAX, 32);

	/* Every single byte: valid exactly when it is in [A-Za-z0-9_-]. */
	for (ch = 0; ch < 256; ch++) {
		char c = (char)ch;
		bool want = (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '_' || ch == '-';
		ck_assert_msg(chat_nick_valid(&c, 1) == want, "byte 0x%02x",
		    ch);
	}
}
END_TEST

Suite *
chat_suite(void)
{
	Suite *s = suite_create("chat");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_chat_empty_and_message);
	tcase_add_test(tc, test_chat_exit_exactly);
	tcase_add_test(tc, test_chat_commands);
	tcase_add_test(tc, test_chat_nick_arg);
	tcase_add_test(tc, test_chat_nick_rules);
	suite_add_tcase(s, tc);
	return s;
}
