/* check_room.c - the chat room as a value: members, nicks, replies. */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat.h"
#include "check_suites.h"
#include "client.h"
#include "harness.h"
#include "io.h"
#include "nickset.h"
#include "proto.h"
#include "room.h"
#include "stats.h"
#include "testutil.h"

/*
 * Most tests here build a room with no server around it: a client_ctx
 * filled in by hand, a driver that accepts every interest change, and
 * clients made with client_new() on socketpair() ends.  What a member is
 * sent is read straight from its output buffer, so every reply is checked
 * byte for byte without sweeping.  The last tests go through the whole
 * in-process server (tests/harness.h) where the reaper is part of the
 * behaviour.
 */

#define RM_MAX	8

static struct client_ctx rm_ctx;
static struct stats rm_stats;
static struct room rm_room;
static struct client *rm_clients[RM_MAX];
static int rm_peers[RM_MAX];
static int rm_n;
static uint64_t rm_serial;

static int
rm_modify(void *state, int fd, int old_mask, int new_mask)
{
	(void)state;
	(void)fd;
	(void)old_mask;
	(void)new_mask;
	return 0;
}

static const struct io_driver rm_driver = {
	.name = "stub",
	.modify = rm_modify,
};

static void
rm_setup(void)
{
	memset(&rm_ctx, 0, sizeof(rm_ctx));
	memset(&rm_stats, 0, sizeof(rm_stats));
	rm_ctx.io = &rm_driver;
	rm_ctx.stats = &rm_stats;
	rm_ctx.rxbuf = malloc(CLIENT_RECV_CHUNK);
	rm_ctx.flush.items = calloc(RM_MAX * 4, sizeof(struct client *));
	rm_ctx.reap.items = calloc(RM_MAX * 4, sizeof(struct client *));
	rm_ctx.max_line = 4096;
	rm_ctx.max_outbuf = 1 << 20;
	ck_assert_ptr_nonnull(rm_ctx.rxbuf);
	ck_assert_ptr_nonnull(rm_ctx.flush.items);
	ck_assert_ptr_nonnull(rm_ctx.reap.items);
	ck_assert_int_eq(room_init(&rm_room, &rm_ctx, RM_MAX, 4096), 0);
	rm_n = 0;
	rm_serial = 0;
}

static void
rm_teardown(void)
{
	int i;

	nickset_calloc = calloc;
	for (i = 0; i < rm_n; i++) {
		if (rm_clients[i] != NULL)
			client_free(rm_clients[i]);
		close(rm_peers[i]);
	}
	rm_n = 0;
	room_free(&rm_room);
	free(rm_ctx.rxbuf);
	free(rm_ctx.flush.items);
	free(rm_ctx.reap.items);
	hx_stop();
}

/* A new client on a socketpair, not yet in any room. */
static struct client *
rm_client(void)
{
	struct client *c;
	int sv[2];

	ck_assert_int_lt(rm_n, RM_MAX);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	c = client_new(&rm_ctx, sv[1], ++rm_serial, &room_proto, &rm_room);
	ck_assert_ptr_nonnull(c);
	rm_clients[rm_n] = c;
	rm_peers[rm_n++] = sv[0];
	return c;
}

/* A client that joined: its own welcome is taken off its output. */
static struct client *
rm_join(void)
{
	struct client *c = rm_client();

	ck_assert_int_eq(room_join(&rm_room, c), 0);
	buf_consume(&c->out, buf_len(&c->out));
	return c;
}

/* Everything queued for c so far must be exactly want; then it is gone. */
static void
rm_expect(struct client *c, const char *want)
{
	char got[512], exp[512];
	size_t n = strlen(want);

	if (buf_len(&c->out) != n || memcmp(buf_head(&c->out), want, n) != 0) {
		tu_quote(buf_head(&c->out), buf_len(&c->out), got, sizeof(got));
		tu_quote(want, n, exp, sizeof(exp));
		ck_abort_msg("%s: want \"%s\", got \"%s\"", c->nick, exp, got);
	}
	buf_consume(&c->out, n);
}

static void
rm_line(struct client *c, const char *line)
{
	room_line(&rm_room, c, line, strlen(line));
}

/* What the reaper does for a closed member. */
static void
rm_reap(struct client *c)
{
	int i;

	ck_assert_int_eq(c->state, CLIENT_CLOSING);
	room_leave(&rm_room, c);
	for (i = 0; i < rm_n; i++)
		if (rm_clients[i] == c)
			rm_clients[i] = NULL;
	client_free(c);
}

START_TEST(test_room_join_and_relay)
{
	struct client *a = rm_join(), *b, *c;
	char want[64];

	b = rm_client();
	ck_assert_int_eq(room_join(&rm_room, b), 0);
	snprintf(want, sizeof(want), CHAT_FMT_WELCOME, "guest2");
	rm_expect(b, want);
	snprintf(want, sizeof(want), CHAT_FMT_JOINED, "guest2");
	rm_expect(a, want);
	c = rm_join();
	rm_expect(a, "* guest3 joined\n");
	rm_expect(b, "* guest3 joined\n");
	ck_assert_uint_eq(rm_room.nmembers, 3);
	ck_assert_uint_eq(rm_room.present, 3);

	rm_line(b, "hello");
	rm_expect(a, "<guest2> hello\n");
	rm_expect(c, "<guest2> hello\n");
	rm_expect(b, "");		/* never to the sender */
	rm_line(b, "");
	rm_expect(a, "");		/* empty lines are ignored */
	ck_assert_uint_eq(rm_stats.lines, 2);
}
END_TEST

START_TEST(test_room_nick_rules)
{
	struct client *a = rm_join(), *b = rm_join();

	rm_expect(a, "* guest2 joined\n");
	rm_line(a, "/nick alice");
	rm_expect(a, "* guest1 is now alice\n");	/* the sender too */
	rm_expect(b, "* guest1 is now alice\n");
	rm_line(b, "/nick ALICE");
	rm_expect(b, CHAT_NICK_TAKEN);		/* without regard to case */
	rm_line(b, "/nick guest7");
	rm_expect(b, CHAT_NICK_TAKEN);		/* the server's names */
	rm_line(b, "/nick Guest2");
	rm_expect(b, "* guest2 is now Guest2\n");	/* but its own is fine */
	rm_expect(a, "* guest2 is now Guest2\n");
	rm_line(b, "/nick bad nick");
	rm_expect(b, CHAT_INVALID_NICK);
	rm_line(a, "/nick Alice");
	rm_expect(a, "* alice is now Alice\n");
	rm_expect(b, "* alice is now Alice\n");
	rm_line(a, "/frobnicate");
	rm_expect(a, CHAT_UNKNOWN_COMMAND);
	rm_expect(b, "");
}
END_TEST

START_TEST(test_room_who_counts_present)
{
	struct client *a = rm_join(), *b = rm_join(), *c = rm_join();

	rm_expect(a, "* guest2 joined\n* guest3 joined\n");
	rm_expect(b, "* guest3 joined\n");
	rm_line(a, "/who");
	rm_expect(a, "* users (3): guest1 guest2 guest3\n");
	/* A closing member is no longer counted or listed, though it stays
	 * a member (it is told nothing, the others hear of it when it is
	 * reaped). */
	client_close(c, CLOSE_RESET);
	ck_assert_uint_eq(rm_room.present, 2);
	ck_assert_uint_eq(rm_room.nmembers, 3);
	rm_line(b, "/who");
	rm_expect(b, "* users (2): guest1 guest2\n");
	rm_reap(c);
	rm_expect(a, "* guest3 left\n");
	rm_expect(b, "* guest3 left\n");
	ck_assert_uint_eq(rm_room.nmembers, 2);
	ck_assert_uint_eq(rm_room.present, 2);
	/* Its nick is free again. */
	rm_line(a, "/nick guest3");
	rm_expect(a, CHAT_NICK_TAKEN);		/* reserved, not held */
	ck_assert_ptr_null(nickset_find(&rm_room.nicks, "guest3", 6));
}
END_TEST

START_TEST(test_room_quit_lingers_out)
{
	struct client *a = rm_join(), *b = rm_join();

	rm_expect(a, "* guest2 joined\n");
	/* Nothing is pending, so the quitter lingers at once: gone from the
	 * room, its nick free, the others told, while its fd stays open. */
	rm_line(b, "/quit");
	ck_assert_int_eq(b->state, CLIENT_DRAINING);	/* "* bye" pending */
	rm_expect(b, CHAT_BYE);
	client_on_writable(b);			/* output gone: finish */
	ck_assert_int_eq(b->state, CLIENT_LINGERING);
	ck_assert(!b->member);
	rm_expect(a, "* guest2 left\n");
	rm_line(a, "/who");
	rm_expect(a, "* users (1): guest1\n");
	ck_assert_ptr_null(nickset_find(&rm_room.nicks, "guest2", 6));
}
END_TEST

START_TEST(test_room_shutdown_is_silent)
{
	struct client *a = rm_join(), *b = rm_join();

	rm_expect(a, "* guest2 joined\n");
	rm_ctx.shutting_down = true;
	client_close(b, CLOSE_SHUTDOWN_TIMEOUT);
	rm_reap(b);
	rm_expect(a, "");		/* nobody is left to tell */
	ck_assert_uint_eq(rm_room.nmembers, 1);
}
END_TEST

START_TEST(test_room_two_rooms_apart)
{
	struct room other;
	struct client *a = rm_join(), *b = rm_client();

	/* A room is a value: a second one has its own members and nicks. */
	ck_assert_int_eq(room_init(&other, &rm_ctx, RM_MAX, 4096), 0);
	b->proto_self = &other;
	rm_line(a, "/nick alice");
	rm_expect(a, "* guest1 is now alice\n");
	ck_assert_int_eq(room_join(&other, b), 0);
	rm_expect(b, "* welcome, you are guest2\n");
	rm_expect(a, "");		/* not told: another room */
	room_line(&other, b, "/nick alice", 11);
	rm_expect(b, "* guest2 is now alice\n");
	room_line(&other, b, "/who", 4);
	rm_expect(b, "* users (1): alice\n");
	room_leave(&other, b);
	room_free(&other);
	ck_assert_uint_eq(rm_room.nmembers, 1);
}
END_TEST

/* ---- out of memory for the nick table ----------------------------------- */

static void *
rm_no_calloc(size_t n, size_t size)
{
	(void)n;
	(void)size;
	errno = ENOMEM;
	return NULL;
}

/* Renames leave tombstones; the rename that makes the table rebuild meets
 * the failing allocator.  Returns how many renames got through. */
static int
rm_rename_until_oom(struct room *r, struct client *c)
{
	char line[32];
	int i;

	nickset_calloc = rm_no_calloc;
	for (i = 0; i < 1000 && c->state == CLIENT_OPEN; i++) {
		int n = snprintf(line, sizeof(line), "/nick n%d", i);

		room_line(r, c, line, (size_t)n);
	}
	nickset_calloc = calloc;
	return i - 1;
}

START_TEST(test_room_nick_oom_still_leaves)
{
	struct client *a = rm_join(), *b = rm_join();
	char want[64], nick[16];
	int renamed;

	rm_expect(a, "* guest2 joined\n");
	renamed = rm_rename_until_oom(&rm_room, b);
	ck_assert_int_gt(renamed, 0);
	ck_assert_int_eq(b->state, CLIENT_CLOSING);
	ck_assert_int_eq(b->cause, CLOSE_OOM);
	ck_assert_uint_eq(rm_stats.oom_closed, 1);
	/* It is still a member under its last name, so the others hear it
	 * leave when it is reaped (before the fix they heard nothing). */
	ck_assert(b->member);
	buf_consume(&a->out, buf_len(&a->out));	/* the renames */
	rm_reap(b);
	snprintf(nick, sizeof(nick), "n%d", renamed - 1);
	snprintf(want, sizeof(want), CHAT_FMT_LEFT, nick);
	rm_expect(a, want);
	ck_assert_uint_eq(rm_room.nicks.used, 1);
}
END_TEST

/* The same over sockets, through the whole server and its reaper. */
START_TEST(test_room_nick_oom_over_sockets)
{
	struct config cfg;
	char line[64], want[64];
	char *script, *p;
	int a, b, i, renamed = 0;
	ssize_t n;

	hx_config(&cfg, MODE_CHAT);
	cfg.max_clients = 8;
	hx_start(&cfg);
	a = hx_pair(0, NULL, NULL);
	b = hx_pair(0, NULL, NULL);
	hx_sweeps(2);
	TU_OK(tu_expect_line(a, "* welcome, you are guest1\n", TU_WAIT));
	TU_OK(tu_expect_line(a, "* guest2 joined\n", TU_WAIT));
	script = p = malloc(1000 * 16);
	ck_assert_ptr_nonnull(script);
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "/nick n%d\n", i);
	TU_OK(tu_send_all(b, script, (size_t)(p - script)));
	free(script);
	nickset_calloc = rm_no_calloc;
	hx_sweeps(20);
	nickset_calloc = calloc;
	ck_assert_uint_eq(hx_srv.nclients, 1);
	ck_assert_uint_eq(hx_srv.stats.oom_closed, 1);
	/* a sees every rename that got through, then guest2 leave under the
	 * last name it had. */
	for (;;) {
		n = tu_read_line(a, line, sizeof(line), TU_WAIT);
		ck_assert_msg(n > 0, "%s", tu_error());
		if (strstr(line, " is now ") == NULL)
			break;
		renamed++;
	}
	ck_assert_int_gt(renamed, 0);
	snprintf(want, sizeof(want), "* n%d left\n", renamed - 1);
	ck_assert_str_eq(line, want);
	TU_EXPECT_SILENCE(a);
	close(a);
	close(b);
}
END_TEST

Suite *
room_suite(void)
{
	Suite *s = suite_create("room");
	TCase *tc = tcase_create("room");

	tcase_add_checked_fixture(tc, rm_setup, rm_teardown);
	tcase_add_test(tc, test_room_join_and_relay);
	tcase_add_test(tc, test_room_nick_rules);
	tcase_add_test(tc, test_room_who_counts_present);
	tcase_add_test(tc, test_room_quit_lingers_out);
	tcase_add_test(tc, test_room_shutdown_is_silent);
	tcase_add_test(tc, test_room_two_rooms_apart);
	tcase_add_test(tc, test_room_nick_oom_still_leaves);
	tcase_add_test(tc, test_room_nick_oom_over_sockets);
	suite_add_tcase(s, tc);
	return s;
}
