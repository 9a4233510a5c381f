/* chat.c - chat command parsing and nick rules. */
#include <string.h>

#include "chat.h"

/* Does line[0, len) start with the command word cmd, followed by the end
 * of the line or a space? "/nickname" is not "/nick". */
static bool
chat_is_command(const char *line, size_t len, const char *cmd)
{
	size_t n = strlen(cmd);

	return len >= n && memcmp(line, cmd, n) == 0 &&
	    (len == n || line[n] == ' ');
}

struct chat_command
chat_parse(const char *line, size_t len)
{
	struct chat_command cmd = { CHAT_MESSAGE, NULL, 0 };

	if (len == 0) {
		cmd.kind = CHAT_EMPTY;
	} else if (len == 4 && memcmp(line, "exit", 4) == 0) {
		cmd.kind = CHAT_QUIT;	/* the seed's quit word, exactly */
	} else if (line[0] != '/') {
		cmd.kind = CHAT_MESSAGE;
	} else if (chat_is_command(line, len, "/nick")) {
		cmd.kind = CHAT_NICK;
		cmd.arg = line + 5;
		cmd.arg_len = len - 5;
		/* One separating space; anything else stays in the argument
		 * and fails the nick check. */
		if (cmd.arg_len > 0) {
			cmd.arg++;
			cmd.arg_len--;
		}
	} else if (chat_is_command(line, len, "/who")) {
		cmd.kind = CHAT_WHO;
	} else if (chat_is_command(line, len, "/quit")) {
		cmd.kind = CHAT_QUIT;
	} else {
		cmd.kind = CHAT_UNKNOWN;
	}
	return cmd;
}

bool
chat_nick_valid(const char *nick, size_t len)
{
	size_t i;

	if (len < 1 || len > CHAT_NICK_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)nick[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

bool
chat_nick_reserved(const char *nick, size_t len)
{
	size_t i;

	if (len <= 5 || !chat_nick_equal(nick, 5, "guest", 5))
		return false;
	for (i = 5; i < len; i++)
		if (nick[i] < '0' || nick[i] > '9')
			return false;
	return true;
}

bool
chat_nick_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i;

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}
