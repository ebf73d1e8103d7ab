// SPDX-License-Identifier: MIT
/* Undo journal of the server agent (see journal.h). */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define JOURNAL_HEADER "mplb-server-journal 1"

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int journal_create(struct journal *j, const char *path)
{
	snprintf(j->path, sizeof(j->path), "%s", path);
	j->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		mplb_err("server: cannot create the journal %s: %s", path, strerror(errno));
		return -1;
	}
	if (write_all(j->fd, JOURNAL_HEADER "\n", strlen(JOURNAL_HEADER) + 1) || fsync(j->fd)) {
		mplb_err("server: cannot write the journal %s: %s", path, strerror(errno));
		close(j->fd);
		j->fd = -1;
		return -1;
	}
	return 0;
}

int journal_add(struct journal *j, const char *kind, int argc, const char *const argv[])
{
	char line[JOURNAL_MAX_ARGS * (JOURNAL_ARG_LEN + 1) + 32];
	size_t off;

	if (j->fd < 0 || argc > JOURNAL_MAX_ARGS)
		return -1;
	off = (size_t)snprintf(line, sizeof(line), "%s", kind);
	for (int i = 0; i < argc && off < sizeof(line); i++) {
		if (!argv[i][0] || strpbrk(argv[i], " \t\n") || strlen(argv[i]) >= JOURNAL_ARG_LEN) {
			mplb_err("server: journal argument '%s' is empty, too long or has spaces", argv[i]);
			return -1;
		}
		off += (size_t)snprintf(line + off, sizeof(line) - off, " %s", argv[i]);
	}
	if (off + 1 >= sizeof(line))
		return -1;
	line[off++] = '\n';
	if (write_all(j->fd, line, off) || fdatasync(j->fd)) {
		mplb_err("server: cannot append to the journal %s: %s", j->path, strerror(errno));
		return -1;
	}
	return 0;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

int journal_parse_line(const char *line, struct journal_record *rec)
{
	char buf[JOURNAL_MAX_ARGS * (JOURNAL_ARG_LEN + 1) + 32], *save = NULL, *tok;

	memset(rec, 0, sizeof(*rec));
	if (strlen(line) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", line);
	tok = strtok_r(buf, " \t\n", &save);
	if (!tok || strlen(tok) >= sizeof(rec->kind))
		return -1;
	snprintf(rec->kind, sizeof(rec->kind), "%s", tok);
	while ((tok = strtok_r(NULL, " \t\n", &save))) {
		if (rec->argc >= JOURNAL_MAX_ARGS || strlen(tok) >= JOURNAL_ARG_LEN)
			return -1;
		snprintf(rec->argv[rec->argc++], JOURNAL_ARG_LEN, "%s", tok);
	}
	return 0;
}

int journal_read(const char *path, struct journal_record *recs, int cap)
{
	FILE *f = fopen(path, "re");
	char line[JOURNAL_MAX_ARGS * (JOURNAL_ARG_LEN + 1) + 64];
	int n = 0, lineno = 0;

	if (!f)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		lineno++;
		if (lineno == 1) {
			/* Torn inside the header: the agent died creating the journal,
			 * before any change. Nothing to undo. */
			if (line[len ? len - 1 : 0] != '\n' && !strncmp(line, JOURNAL_HEADER, len)) {
				fclose(f);
				return 0;
			}
			if (strncmp(line, JOURNAL_HEADER, strlen(JOURNAL_HEADER))) {
				mplb_err("server: %s is not an mplb server journal", path);
				fclose(f);
				return -1;
			}
			continue;
		}
		if (!len || line[len - 1] != '\n')
			break; /* torn last record: written partly, its change never happened */
		if (n >= cap || journal_parse_line(line, &recs[n])) {
			mplb_err("server: %s:%d: bad journal record", path, lineno);
			fclose(f);
			return -1;
		}
		if (recs[n].kind[0])
			n++;
	}
	fclose(f);
	return n;
}
