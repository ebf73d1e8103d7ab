// SPDX-License-Identifier: MIT
/* bpffs and cgroup v2: find, mount when missing, refuse with the fix. */
#include "sysmounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif


bool mplb_bpffs_mounted(void)
{
	struct statfs st;

	return statfs(MPLB_BPFFS, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* The source field of the sysfs mounted on /sys, from /proc/self/mountinfo. */
static int sys_mount_source(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];
	int rc = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char mnt[256], type[64], src[256];
		const char *dash = strstr(line, " - ");
		/* id parent major:minor root mountpoint ... - fstype source options */
		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1 ||
		    sscanf(dash + 3, "%63s %255s", type, src) != 2)
			continue;
		if (!strcmp(mnt, "/sys") && !strcmp(type, "sysfs")) {
			snprintf(buf, len, "%s", src); /* the last mount on /sys wins */
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

/*
 * `ip netns exec` gives the command a new mount namespace with a fresh
 * sysfs on /sys (so /sys/class/net shows the namespace's devices), which
 * hides the host's bpffs and cgroup mounts. A bpffs mounted there would be
 * private to that one command. unshare -m keeps the same sysfs. Where PID 1
 * is visible, a different sysfs device tells; where it is not (a sandboxed
 * init), iproute2's mark tells: it names that sysfs after the namespace.
 */
static bool private_sysfs(void)
{
	struct stat self, init;
	char src[256];

	if (stat("/sys", &self) == 0 && stat("/proc/1/root/sys", &init) == 0)
		return self.st_dev != init.st_dev;
	return sys_mount_source(src, sizeof(src)) == 0 && strcmp(src, "sysfs") &&
	       strcmp(src, "none");
}

/*
 * Serialise "check, then mount" between mplb processes started together
 * (two mounts would stack, and the first one's pins would be hidden).
 * /sys/fs is a sysfs directory that is never a mount point: every process
 * locks the same inode, and no lock file is left behind.
 */
static int mount_lock(void)
{
	int fd = open("/sys/fs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_EX)) {
		close(fd);
		fd = -1;
	}
	return fd; /* without a lock, a race only stacks a second mount */
}

static void mount_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int mplb_bpffs_ensure(const char *what)
{
	int lock, rc = -1;

	if (mplb_bpffs_mounted())
		return 0;
	if (private_sysfs()) {
		mplb_err("%s: this process has a private /sys (`ip netns exec` remounts it), so the "
			 "BPF pins it makes would be invisible to every other command; run it with "
			 "`nsenter --net=/run/netns/NS mplb ...` (or `mplb lab exec HOST -- ...`), "
			 "which keeps the host's /sys/fs/bpf", what);
		return -1;
	}
	if (geteuid() != 0) {
		mplb_err("%s: no bpffs is mounted at " MPLB_BPFFS " and mounting one needs root: run "
			 "it as root, or mount it first: mount -t bpf bpffs " MPLB_BPFFS, what);
		return -1;
	}
	lock = mount_lock();
	if (mplb_bpffs_mounted()) { /* another mplb process mounted it meanwhile */
		mount_unlock(lock);
		return 0;
	}
	if (mount("bpffs", MPLB_BPFFS, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME,
		  "mode=0700") == 0) {
		fprintf(stderr, "mplb: mounted bpffs at " MPLB_BPFFS " (it was not mounted); to have "
				"it at boot, add 'bpffs " MPLB_BPFFS " bpf defaults 0 0' to /etc/fstab\n");
		rc = 0;
	} else if (errno == ENODEV) {
		mplb_err("%s: the kernel has no BPF filesystem (CONFIG_BPF_SYSCALL is off): mplb "
			 "needs a kernel with BPF", what);
	} else if (errno == EPERM || errno == EACCES) {
		mplb_err("%s: mounting bpffs at " MPLB_BPFFS " is not permitted here (a container "
			 "without CAP_SYS_ADMIN?): mount it on the host, `mount -t bpf bpffs "
			 MPLB_BPFFS "`, and pass it in", what);
	} else {
		mplb_err("%s: cannot mount bpffs at " MPLB_BPFFS ": %s (is sysfs mounted at /sys?); "
			 "mount it by hand: mount -t bpf bpffs " MPLB_BPFFS, what, strerror(errno));
	}
	mount_unlock(lock);
	return rc;
}

int mplb_cgroup2_find(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char dev[256], dir[256], type[64];
	int rc = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%255s %255s %63s %*[^\n]\n", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

int mplb_cgroup2_ensure(char *buf, size_t len, const char *what)
{
	int lock, rc = -1;

	if (mplb_cgroup2_find(buf, len) == 0)
		return 0;
	if (geteuid() != 0) {
		mplb_err("%s: no cgroup v2 hierarchy is mounted and mounting one needs root: mount "
			 "it first: mkdir -p " MPLB_CGROUP2_FALLBACK " && mount -t cgroup2 none "
			 MPLB_CGROUP2_FALLBACK, what);
		return -1;
	}
	lock = mount_lock();
	if (mplb_cgroup2_find(buf, len) == 0) {
		mount_unlock(lock);
		return 0;
	}
	mkdir(MPLB_CGROUP2_FALLBACK, 0755);
	if (mount("cgroup2", MPLB_CGROUP2_FALLBACK, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) == 0) {
		fprintf(stderr, "mplb: mounted cgroup v2 at " MPLB_CGROUP2_FALLBACK
				" (none was mounted)\n");
		snprintf(buf, len, "%s", MPLB_CGROUP2_FALLBACK);
		rc = 0;
	} else {
		mplb_err("%s: no cgroup v2 hierarchy is mounted, and mounting one at "
			 MPLB_CGROUP2_FALLBACK " failed: %s (kernel without CONFIG_CGROUPS, or "
			 "a container without CAP_SYS_ADMIN?)", what, strerror(errno));
	}
	mount_unlock(lock);
	return rc;
}

void mplb_path_add_sbin(void)
{
	static const char *const dirs[] = {"/usr/local/sbin", "/usr/sbin", "/sbin"};
	const char *cur = getenv("PATH");
	char path[4096];

	snprintf(path, sizeof(path), "%s", cur && *cur ? cur : "/usr/local/bin:/usr/bin:/bin");
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		size_t n = strlen(dirs[i]);
		bool have = false;
		for (const char *p = path; *p;) {
			const char *end = strchr(p, ':');
			size_t l = end ? (size_t)(end - p) : strlen(p);
			if (l == n && !strncmp(p, dirs[i], n))
				have = true;
			p += l + (end ? 1 : 0);
		}
		if (!have && strlen(path) + n + 2 < sizeof(path)) {
			strcat(path, ":");
			strcat(path, dirs[i]);
		}
	}
	setenv("PATH", path, 1);
}
