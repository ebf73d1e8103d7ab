/* SPDX-License-Identifier: MIT */
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int mplb_verbose;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "mplb: %s", prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void mplb_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void mplb_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void mplb_dbg(const char *fmt, ...)
{
	va_list ap;
	if (!mplb_verbose)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

int parse_uint(const char *s, const char *what, unsigned long min,
	       unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-') {
		mplb_err("%s: expected a number from %lu to %lu, got '%s'", what,
			 min, max, s ? s : "");
		return -1;
	}
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v < min || v > max) {
		mplb_err("%s: expected a number from %lu to %lu, got '%s'", what,
			 min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int parse_sockaddr(const char *s, bool port_required,
		   struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL;
	unsigned long p = 0;

	memset(ss, 0, sizeof(*ss));
	if (!s || !*s)
		goto bad;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || (size_t)(close - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, close - s - 1);
		host[close - s - 1] = 0;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			goto bad;
	} else {
		const char *colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon) /* bare IPv6 */
			colon = NULL;
		size_t n = colon ? (size_t)(colon - s) : strlen(s);
		if (n >= sizeof(host))
			goto bad;
		memcpy(host, s, n);
		host[n] = 0;
		if (colon)
			port = colon + 1;
	}
	if (port) {
		if (parse_uint(port, "port", 1, 65535, &p))
			return -1;
	} else if (port_required) {
		mplb_err("'%s': missing port; write ADDRESS:PORT, e.g. 10.0.0.1:80 or [fd00::1]:80", s);
		return -1;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*sin6);
		return 0;
	}
bad:
	mplb_err("'%s' is not an address%s; write e.g. 10.0.0.1%s or [fd00::1]%s",
		 s ? s : "", port_required ? " and port" : "",
		 port_required ? ":80" : "", port_required ? ":80" : "");
	return -1;
}

const char *sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)sa;
		inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)sa;
		inet_ntop(AF_INET6, &s->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

int require_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	mplb_err("%s needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); run it with sudo", what);
	return -1;
}

int netns_enter(const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mplb_err("network namespace '%s' not found (%s); is the lab up? (mplb lab up)",
			 name, strerror(errno));
		return -1;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		mplb_err("cannot enter network namespace '%s': %s", name,
			 strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

bool netns_exists(const char *name)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "/var/run/netns/%s", name);
	return stat(path, &st) == 0;
}

static int spawn(const char *netns, bool quiet, int outfd, char *const argv[])
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (netns && netns_enter(netns))
			_exit(127);
		if (outfd >= 0) {
			dup2(outfd, 1);
		}
		if (quiet) {
			int devnull = open("/dev/null", O_WRONLY);
			if (devnull >= 0) {
				if (outfd < 0)
					dup2(devnull, 1);
				dup2(devnull, 2);
			}
		}
		execvp(argv[0], argv);
		fprintf(stderr, "mplb: cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	if (rc && !quiet) {
		char line[512];
		size_t off = 0;
		for (int i = 0; argv[i] && off < sizeof(line) - 1; i++)
			off += snprintf(line + off, sizeof(line) - off, "%s%s",
					i ? " " : "", argv[i]);
		mplb_err("command failed (exit %d)%s%s: %s", rc,
			 netns ? " in netns " : "", netns ? netns : "", line);
	}
	return rc;
}

int run_cmd(const char *netns, bool quiet, char *const argv[])
{
	return spawn(netns, quiet, -1, argv);
}

int run(const char *netns, bool quiet, const char *arg0, ...)
{
	char *argv[64];
	int n = 0;
	va_list ap;
	argv[n++] = (char *)arg0;
	va_start(ap, arg0);
	while (n < 63 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return run_cmd(netns, quiet, argv);
}

int run_capture(const char *netns, char *out, size_t cap, char *const argv[])
{
	char tmpl[] = "/tmp/mplb-cap-XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0)
		return -1;
	unlink(tmpl);
	int rc = spawn(netns, true, fd, argv);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, out, cap ? cap - 1 : 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	return rc;
}

double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
