/*
 * amibox-ec2-tools: the EC2 AMI tools' two commands that run inside an
 * instance, for instance-store AMIs made from a running machine (Packer's
 * amazon-instance builder runs them over SSH):
 *
 *   ec2-bundle-vol     the instance's root disk → an encrypted, signed bundle
 *                      (src/bundle), with the kernel, ramdisk and block
 *                      device mapping it inherits from the instance metadata
 *   ec2-upload-bundle  the bundle's parts, then its manifest, to a bucket
 *                      through amibox's S3 API (SigV4)
 *
 * One static binary, called by either name (or with the name as its first
 * argument), so that any guest can carry it: the samples do.  The options
 * are the AMI tools' own, so the commands Packer writes by default work.
 *
 * What it bundles: the disk that holds the file system at --volume (/ by
 * default), whole, as it is: partition table, boot loader and all, which is
 * what an instance-store root is to amibox.  When / lives in memory (the
 * busybox sample runs from its initrd), the instance's first disk.  A disk
 * with a file system mounted writable is frozen (FIFREEZE) while it is
 * read, and the bundle is held in memory meanwhile (it cannot be written
 * to a frozen file system), so the image is one instant of the disk; the
 * contents of the files given with -e (the X.509 key Packer uploads, the
 * bundle's own directory) read as zeros in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "api/sigv4.h"
#include "bundle/bundle.h"
#include "guest/guest_http.h"
#include "util/buf.h"
#include "util/codec.h"

#define IMDS "http://169.254.169.254"
#define EC2_CERT_PATH "/etc/ec2/amitools/cert-ec2.pem"

/* ---- the instance metadata ---------------------------------------------- */

/* A metadata value (path under /latest/), IMDSv2 first; -1 when unavailable. */
static int imds_get(const char *path, struct buf *out)
{
	static char token[256];
	static int token_tried;
	struct guest_url u;
	struct guest_answer a;
	char error[256], header[300];
	guest_url_parse(IMDS, &u);
	if (!token_tried) {
		token_tried = 1;
		const char *h[] = { "X-aws-ec2-metadata-token-ttl-seconds: 300", NULL };
		if (guest_http(&u, "PUT", "/latest/api/token", h, "", 0, 5, &a, error,
			       sizeof error) == 0) {
			if (a.status == 200 && a.body.len < sizeof token)
				snprintf(token, sizeof token, "%s", buf_str(&a.body));
			guest_answer_release(&a);
		}
	}
	snprintf(header, sizeof header, "X-aws-ec2-metadata-token: %s", token);
	const char *h[] = { token[0] ? header : NULL, NULL };
	struct buf target = BUF_INIT;
	buf_printf(&target, "/latest/%s", path);
	int rc = guest_http(&u, "GET", target.data, h, NULL, 0, 5, &a, error, sizeof error);
	buf_release(&target);
	if (rc < 0)
		return -1;
	rc = a.status == 200 ? 0 : -1;
	if (rc == 0) {
		buf_reset(out);
		buf_append(out, a.body.data, a.body.len);
	}
	guest_answer_release(&a);
	return rc;
}

/* ---- ec2-bundle-vol ------------------------------------------------------ */

static void bundle_vol_usage(FILE *out)
{
	fprintf(out,
		"usage: ec2-bundle-vol -k KEY -c CERT -u ACCOUNT [options]\n"
		"Bundles this instance's root disk as an instance-store AMI (amibox).\n"
		"  -k, --privatekey PATH   your PEM private key (signs the manifest)\n"
		"  -c, --cert PATH         your PEM certificate (can decrypt the bundle)\n"
		"  -u, --user ACCOUNT      your account ID\n"
		"  -d, --destination DIR   where the parts and manifest go (/tmp)\n"
		"  -p, --prefix NAME       the bundle's file names (image)\n"
		"  -r, --arch ARCH         x86_64 or i386 (this machine's)\n"
		"  -e, --exclude PATHS     comma-separated files whose contents the image\n"
		"                          must not carry (read as zeros)\n"
		"  -v, --volume PATH       the mounted volume whose disk is bundled (/)\n"
		"      --ec2cert PATH      the cloud's certificate (" EC2_CERT_PATH ",\n"
		"                          else the instance metadata's)\n"
		"      --kernel ID, --ramdisk ID, -B, --block-device-mapping MAP\n"
		"                          instead of what the instance inherits\n"
		"      --no-inherit        inherit nothing from the instance metadata\n"
		"  Also accepted, as the AMI tools have them: --batch, --no-filter,\n"
		"  -s/--size, -P/--partition, -i/--include, --debug.\n");
}

/* Appends one exclusion (absolute path) to list. */
static void exclude_add(char ***list, size_t *n, const char *path)
{
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[(*n)++] = xstrdup(path);
}

/* The sysfs name ("vda") of the disk that holds the device major:minor. */
static int disk_of(unsigned major_n, unsigned minor_n, char *name, size_t cap)
{
	char link[256], target[1024];
	snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major_n, minor_n);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	char partition[300];
	snprintf(partition, sizeof partition, "%s/partition", link);
	if (access(partition, F_OK) == 0)
		*strrchr(target, '/') = '\0'; /* .../vda/vda1 → .../vda */
	const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (strlen(base) >= cap)
		return -1;
	memcpy(name, base, strlen(base) + 1);
	return 0;
}

/* The first disk of the machine, when / is not on one. */
static int first_disk(char *name, size_t cap)
{
	static const char *const prefixes[] = { "vd", "xvd", "sd", "nvme", "hd" };
	char best[64] = "";
	for (size_t p = 0; p < sizeof prefixes / sizeof *prefixes && !best[0]; p++)
		for (char c = 'a'; c <= 'z' && !best[0]; c++) {
			char path[128];
			if (!strcmp(prefixes[p], "nvme"))
				snprintf(path, sizeof path, "/sys/block/nvme%dn1", c - 'a');
			else
				snprintf(path, sizeof path, "/sys/block/%s%c", prefixes[p], c);
			if (access(path, F_OK) == 0)
				snprintf(best, sizeof best, "%s", strrchr(path, '/') + 1);
		}
	if (!best[0])
		return -1;
	snprintf(name, cap, "%s", best);
	return 0;
}

/*
 * The file systems mounted from disk (by its sysfs name) that are writable:
 * their mount points, into *points.
 */
static size_t mounted_writable(const char *disk, char ***points)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	size_t n = 0;
	*points = NULL;
	while (f && fgets(line, sizeof line, f)) {
		unsigned maj, min;
		char point[2048], options[1024], name[64];
		if (sscanf(line, "%*u %*u %u:%u %*s %2047s %1023s", &maj, &min, point, options) != 4)
			continue;
		if (disk_of(maj, min, name, sizeof name) < 0 || strcmp(name, disk) != 0)
			continue;
		if (strncmp(options, "rw", 2) != 0 || (options[2] && options[2] != ','))
			continue;
		*points = xrealloc(*points, (n + 1) * sizeof **points);
		(*points)[n++] = xstrdup(point);
	}
	if (f)
		fclose(f);
	return n;
}

/* Where on the disk a partition (sysfs name) starts, in bytes. */
static unsigned long long partition_start(unsigned major_n, unsigned minor_n)
{
	char path[128];
	unsigned long long sectors = 0;
	snprintf(path, sizeof path, "/sys/dev/block/%u:%u/start", major_n, minor_n);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &sectors) != 1)
			sectors = 0;
		fclose(f);
	}
	return sectors * 512;
}

/*
 * The disk byte ranges that hold the data of a file (FIEMAP) when it lives
 * on the disk being bundled; a directory's files, all of them.
 */
struct excluder {
	const char *disk;
	struct bundle_range *ranges;
	size_t n;
	const char *failed; /* a file whose place could not be found */
};

static struct excluder *excluder_now; /* for nftw's callback */

static int exclude_file(const char *path, const struct stat *st, struct excluder *x)
{
	char name[64];
	if (!S_ISREG(st->st_mode) || disk_of(major(st->st_dev), minor(st->st_dev), name, sizeof name) < 0 ||
	    strcmp(name, x->disk) != 0)
		return 0; /* not on this disk: not in the image anyway */
	unsigned long long base = partition_start(major(st->st_dev), minor(st->st_dev));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0; /* gone meanwhile, or a link (its target is listed apart) */
	size_t cap = 256;
	struct fiemap *fm = xcalloc(1, sizeof *fm + cap * sizeof(struct fiemap_extent));
	unsigned long long at = 0;
	int ret = 0, last = 0;
	while (!last && ret == 0) {
		memset(fm, 0, sizeof *fm);
		fm->fm_start = at;
		fm->fm_length = FIEMAP_MAX_OFFSET - at;
		fm->fm_flags = FIEMAP_FLAG_SYNC; /* delayed allocations get their blocks */
		fm->fm_extent_count = (unsigned)cap;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0)
			ret = -1;
		else if (fm->fm_mapped_extents == 0)
			break;
		for (unsigned i = 0; ret == 0 && i < fm->fm_mapped_extents; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];
			if (e->fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DATA_INLINE |
					   FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_ENCODED)) {
				ret = -1; /* data that no disk offset names */
				break;
			}
			x->ranges = xrealloc(x->ranges, (x->n + 1) * sizeof *x->ranges);
			x->ranges[x->n].offset = base + e->fe_physical;
			x->ranges[x->n].length = e->fe_length;
			x->n++;
			at = e->fe_logical + e->fe_length;
			last = (e->fe_flags & FIEMAP_EXTENT_LAST) != 0;
		}
	}
	free(fm);
	close(fd);
	if (ret < 0 && st->st_size > 0)
		x->failed = x->failed ? x->failed : xstrdup(path);
	return 0;
}

static int exclude_walk(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F)
		exclude_file(path, st, excluder_now);
	return 0;
}

static void exclude_path(struct excluder *x, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return; /* gone, or a glob that matched nothing */
	if (S_ISDIR(st.st_mode)) {
		excluder_now = x;
		nftw(path, exclude_walk, 16, FTW_PHYS | FTW_MOUNT);
		excluder_now = NULL;
	} else {
		exclude_file(path, &st, x);
	}
}

/* The file systems frozen for the read, thawed once it is done. */
struct frozen_set {
	char **points;
	size_t n;
};

static void thaw_all(void *ctx)
{
	struct frozen_set *f = ctx;
	for (size_t i = 0; i < f->n; i++) {
		int fd = open(f->points[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || ioctl(fd, FITHAW, 0) < 0)
			fprintf(stderr, "ec2-bundle-vol: cannot thaw %s: %s (fsfreeze -u %s)\n",
				f->points[i], strerror(errno), f->points[i]);
		if (fd >= 0)
			close(fd);
		free(f->points[i]);
	}
	free(f->points);
	f->points = NULL;
	f->n = 0;
}

static void progress_show(void *ctx, unsigned long long done, unsigned long long total)
{
	int *last = ctx;
	int percent = total ? (int)(done * 100 / total) : 100;
	if (percent / 10 == *last / 10)
		return;
	*last = percent;
	printf("Bundling %s: %d%%\n", percent >= 100 ? "done" : "the disk", percent);
	fflush(stdout);
}

/* Appends one mapping to *list of n. */
static void mapping_add(struct manifest_mapping **list, size_t *n, const char *virtual_name,
			const char *device)
{
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	memset(&(*list)[*n], 0, sizeof **list);
	snprintf((*list)[*n].virtual_name, sizeof (*list)[*n].virtual_name, "%s", virtual_name);
	snprintf((*list)[*n].device, sizeof (*list)[*n].device, "%s", device);
	(*n)++;
}

/* Parses "virtual=device,virtual=device" (the AMI tools' -B). */
static size_t parse_mapping(const char *text, struct manifest_mapping **out)
{
	size_t n = 0;
	char *copy = xstrdup(text), *save = NULL;
	*out = NULL;
	for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq || eq == item || !eq[1])
			continue;
		*eq = '\0';
		mapping_add(out, &n, item, eq + 1);
	}
	free(copy);
	return n;
}

/* The instance's own mapping (ami, root, ephemeral and swap devices). */
static size_t inherit_mapping(struct manifest_mapping **out)
{
	struct buf list = BUF_INIT, value = BUF_INIT;
	size_t n = 0;
	*out = NULL;
	if (imds_get("meta-data/block-device-mapping/", &list) == 0) {
		char *save = NULL;
		for (char *name = strtok_r(list.data, "\n", &save); name;
		     name = strtok_r(NULL, "\n", &save)) {
			if (strcmp(name, "ami") && strcmp(name, "root") && strcmp(name, "swap") &&
			    strncmp(name, "ephemeral", 9))
				continue; /* EBS volumes are not part of an instance-store image */
			struct buf path = BUF_INIT;
			buf_printf(&path, "meta-data/block-device-mapping/%s", name);
			int got = imds_get(path.data, &value);
			buf_release(&path);
			if (got < 0 || !value.len)
				continue;
			mapping_add(out, &n, name, buf_str(&value));
		}
	}
	buf_release(&list);
	buf_release(&value);
	return n;
}

static int bundle_vol(int argc, char **argv)
{
	static const struct option options[] = {
		{ "privatekey", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "destination", required_argument, NULL, 'd' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "arch", required_argument, NULL, 'r' },
		{ "exclude", required_argument, NULL, 'e' },
		{ "include", required_argument, NULL, 'i' },
		{ "volume", required_argument, NULL, 'v' },
		{ "size", required_argument, NULL, 's' },
		{ "partition", required_argument, NULL, 'P' },
		{ "block-device-mapping", required_argument, NULL, 'B' },
		{ "ec2cert", required_argument, NULL, 'E' },
		{ "kernel", required_argument, NULL, 'K' },
		{ "ramdisk", required_argument, NULL, 'R' },
		{ "no-inherit", no_argument, NULL, 'N' },
		{ "batch", no_argument, NULL, 'b' },
		{ "no-filter", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *cert = NULL, *user = NULL, *dest = "/tmp", *prefix = "image";
	const char *arch = NULL, *volume = "/", *ec2cert = NULL, *mapping = NULL;
	char kernel[64] = "", ramdisk[64] = "";
	int inherit = 1, kernel_given = 0, ramdisk_given = 0;
	char **excludes = NULL;
	size_t nexcludes = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "k:c:u:d:p:r:e:i:v:s:P:B:h", options, NULL)) != -1) {
		switch (opt) {
		case 'k': key = optarg; break;
		case 'c': cert = optarg; break;
		case 'u': user = optarg; break;
		case 'd': dest = optarg; break;
		case 'p': prefix = optarg; break;
		case 'r': arch = optarg; break;
		case 'v': volume = optarg; break;
		case 'B': mapping = optarg; break;
		case 'E': ec2cert = optarg; break;
		case 'K': snprintf(kernel, sizeof kernel, "%s", optarg); kernel_given = 1; break;
		case 'R': snprintf(ramdisk, sizeof ramdisk, "%s", optarg); ramdisk_given = 1; break;
		case 'N': inherit = 0; break;
		case 'e': {
			char *copy = xstrdup(optarg), *save = NULL;
			for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
				exclude_add(&excludes, &nexcludes, p);
			free(copy);
			break;
		}
		case 'i': case 's': case 'P': case 'b': case 'f': case 'g': break;
		case 'h': bundle_vol_usage(stdout); return 0;
		default: bundle_vol_usage(stderr); return 2;
		}
	}
	/*
	 * Words after the options: the rest of an -e list that the shell
	 * expanded from a glob (Packer writes "-e" and a directory with a star),
	 * as the AMI tools take them.
	 */
	for (int i = optind; i < argc; i++)
		if (argv[i][0] == '/')
			exclude_add(&excludes, &nexcludes, argv[i]);
	if (!key || !cert || !user) {
		fprintf(stderr, "ec2-bundle-vol: -k (private key), -c (certificate) and -u "
				"(account ID) are required\n");
		bundle_vol_usage(stderr);
		return 2;
	}
	struct utsname un;
	if (!arch)
		arch = uname(&un) == 0 && (!strcmp(un.machine, "i686") || !strcmp(un.machine, "i386"))
			       ? "i386" : "x86_64";
	if (strcmp(arch, "x86_64") && strcmp(arch, "i386")) {
		fprintf(stderr, "ec2-bundle-vol: --arch must be x86_64 or i386, not '%s'\n", arch);
		return 2;
	}
	char user_id[32];
	size_t u = 0;
	for (const char *p = user; *p && u + 1 < sizeof user_id; p++)
		if (*p != '-')
			user_id[u++] = *p;
	user_id[u] = '\0';
	if (u != 12 || strspn(user_id, "0123456789") != 12) {
		fprintf(stderr, "ec2-bundle-vol: -u must be a 12-digit account ID, not '%s'\n", user);
		return 2;
	}
	struct stat dst;
	if (stat(dest, &dst) < 0 || !S_ISDIR(dst.st_mode) || access(dest, W_OK) < 0) {
		fprintf(stderr, "ec2-bundle-vol: the destination %s is not a writable directory\n", dest);
		return 2;
	}

	/* The cloud's certificate: given, installed, or from the metadata. */
	struct buf temp_cert = BUF_INIT, pem = BUF_INIT;
	if (!ec2cert && access(EC2_CERT_PATH, R_OK) == 0)
		ec2cert = EC2_CERT_PATH;
	if (!ec2cert) {
		if (imds_get("meta-data/services/amibox-ec2-cert", &pem) < 0 ||
		    !strstr(buf_str(&pem), "BEGIN CERTIFICATE")) {
			fprintf(stderr, "ec2-bundle-vol: no cloud certificate: give --ec2cert, install "
					"it at " EC2_CERT_PATH ", or run on an amibox instance\n");
			return 1;
		}
		buf_printf(&temp_cert, "%s/.ec2-cert.%d.pem", dest, (int)getpid());
		FILE *f = fopen(temp_cert.data, "w");
		if (!f || fwrite(pem.data, 1, pem.len, f) != pem.len || fclose(f) != 0) {
			fprintf(stderr, "ec2-bundle-vol: cannot write %s: %s\n", temp_cert.data,
				strerror(errno));
			return 1;
		}
		ec2cert = temp_cert.data;
	}

	/* What the instance passes on to its image. */
	struct manifest_mapping *mappings = NULL;
	size_t nmappings = mapping ? parse_mapping(mapping, &mappings) : 0;
	if (inherit) {
		struct buf v = BUF_INIT;
		if (!kernel_given && imds_get("meta-data/kernel-id", &v) == 0 && v.len < sizeof kernel)
			snprintf(kernel, sizeof kernel, "%s", buf_str(&v));
		if (!ramdisk_given && imds_get("meta-data/ramdisk-id", &v) == 0 &&
		    v.len < sizeof ramdisk)
			snprintf(ramdisk, sizeof ramdisk, "%s", buf_str(&v));
		buf_release(&v);
		if (!mapping)
			nmappings = inherit_mapping(&mappings);
	}

	/* The disk. */
	struct stat vst;
	char disk[64] = "";
	int rc = 1;
	struct frozen_set frozen = { NULL, 0 };
	struct excluder x = { disk, NULL, 0, NULL };
	if (stat(volume, &vst) < 0) {
		fprintf(stderr, "ec2-bundle-vol: %s: %s\n", volume, strerror(errno));
		goto out;
	}
	if (disk_of(major(vst.st_dev), minor(vst.st_dev), disk, sizeof disk) < 0) {
		if (strcmp(volume, "/") != 0 || first_disk(disk, sizeof disk) < 0) {
			fprintf(stderr, "ec2-bundle-vol: %s is not on a disk\n", volume);
			goto out;
		}
		printf("/ is not on a disk (it runs from memory): bundling the first disk, %s\n", disk);
	}
	char device[128];
	snprintf(device, sizeof device, "/dev/%s", disk);
	printf("Bundling %s into %s/%s (kernel %s, %zu mapped devices)\n", device, dest, prefix,
	       kernel[0] ? kernel : "none", nmappings);
	fflush(stdout);
	sync();

	/* Files whose contents the image must not carry, the bundle's own too. */
	exclude_add(&excludes, &nexcludes, ec2cert);
	exclude_add(&excludes, &nexcludes, key);
	exclude_add(&excludes, &nexcludes, cert);
	for (size_t i = 0; i < nexcludes; i++)
		exclude_path(&x, excludes[i]);
	if (x.failed) {
		fprintf(stderr, "ec2-bundle-vol: cannot find where %s lies on %s, so its contents "
				"cannot be kept out of the image\n", x.failed, device);
		goto out;
	}

	/*
	 * A disk in use is frozen while it is read, so the image is one instant
	 * of it; a destination on a frozen file system gets the parts after.
	 */
	char **points = NULL;
	size_t nwritable = mounted_writable(disk, &points);
	int dest_frozen = 0;
	for (size_t i = 0; i < nwritable; i++) {
		int fd = open(points[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		struct stat pst;
		if (fd >= 0 && ioctl(fd, FIFREEZE, 0) == 0) {
			frozen.points = xrealloc(frozen.points, (frozen.n + 1) * sizeof *frozen.points);
			frozen.points[frozen.n++] = points[i];
			dest_frozen |= fstat(fd, &pst) == 0 && pst.st_dev == dst.st_dev;
		} else {
			fprintf(stderr, "ec2-bundle-vol: warning: cannot freeze %s (%s): the image may "
					"catch it mid-write\n", points[i], strerror(errno));
			free(points[i]);
		}
		if (fd >= 0)
			close(fd);
	}
	free(points);
	struct bundle_options o = {
		.image = device, .prefix = prefix, .destination = dest, .user_cert = cert,
		.user_key = key, .ec2_cert = ec2cert, .user = user_id, .architecture = arch,
		.kernel_id = kernel, .ramdisk_id = ramdisk, .mappings = mappings,
		.nmappings = nmappings, .zero_ranges = x.ranges, .nzero_ranges = x.n,
		.after_read = thaw_all, .after_read_ctx = &frozen,
		.sparse = 1, /* a disk is mostly empty: its zeros stay out of the stream */
	};
	if (dest_frozen) {
		/* Held in memory meanwhile: at most half of what is free. */
		long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
		o.hold_parts = 1;
		o.hold_limit = pages > 0 && page > 0 ? (unsigned long long)pages * (unsigned long long)page / 2
						     : 256ULL << 20;
	}
	int last = -1;
	o.progress = progress_show;
	o.progress_ctx = &last;
	struct buf manifest = BUF_INIT;
	struct err e = ERR_INIT;
	int made = bundle_create(&o, &manifest, &e); /* thaws through after_read */
	if (made < 0) {
		fprintf(stderr, "ec2-bundle-vol: %s\n", e.message);
	} else {
		printf("Created %s\nec2-bundle-vol complete.\n", manifest.data);
		rc = 0;
	}
	buf_release(&manifest);
out:
	thaw_all(&frozen);
	if (temp_cert.data)
		unlink(temp_cert.data);
	buf_release(&temp_cert);
	buf_release(&pem);
	for (size_t i = 0; i < nexcludes; i++)
		free(excludes[i]);
	free(excludes);
	free(mappings);
	free(x.ranges);
	free((char *)x.failed);
	return rc;
}

/* ---- ec2-upload-bundle --------------------------------------------------- */

static void upload_usage(FILE *out)
{
	fprintf(out,
		"usage: ec2-upload-bundle -b BUCKET[/PREFIX] -m MANIFEST [options]\n"
		"Uploads a bundle's parts, then its manifest, to a bucket (amibox's S3 API).\n"
		"  -b, --bucket B[/PREFIX] the bucket (made if missing) and a key prefix\n"
		"  -m, --manifest PATH     the bundle's manifest (PREFIX.manifest.xml)\n"
		"  -a, --access-key ID     the access key (else $AWS_ACCESS_KEY_ID)\n"
		"  -s, --secret-key KEY    the secret key (else $AWS_SECRET_ACCESS_KEY)\n"
		"  -t, --delegation-token  a session token (else $AWS_SESSION_TOKEN)\n"
		"  -d, --directory DIR     where the parts are (the manifest's directory)\n"
		"      --url URL           the S3 endpoint (else $AWS_ENDPOINT_URL_S3,\n"
		"                          $AWS_ENDPOINT_URL, or the instance metadata's\n"
		"                          services/amibox-api)\n"
		"      --region NAME       the signing region (the instance's)\n"
		"      --acl ACL           the objects' canned ACL (aws-exec-read)\n"
		"      --retry             try each upload up to five times\n"
		"      --skipmanifest      upload the parts only\n"
		"  Also accepted: --batch, --location, --debug.\n");
}

struct s3_target {
	struct guest_url url;
	char access_key[129], secret[129], token[2048], region[64];
};

/* Percent-encodes a key for a path, keeping '/'. */
static void path_encode(const char *s, struct buf *out)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~' || c == '/')
			buf_append_char(out, (char)c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

struct header_list {
	const char *const *lines;
};

static const char *header_of(void *ctx, const char *name)
{
	const struct header_list *h = ctx;
	size_t n = strlen(name);
	for (size_t i = 0; h->lines[i]; i++)
		if (!strncasecmp(h->lines[i], name, n) && h->lines[i][n] == ':')
			return h->lines[i] + n + 2;
	return NULL;
}

/* One signed S3 request; the HTTP status, or -1 with error. */
static int s3_send(const struct s3_target *t, const char *method, const char *path,
		   const char *acl, const void *body, size_t len, struct guest_answer *a,
		   char *error, size_t cap)
{
	char amz_date[17], hash[65], date_h[64], hash_h[100], acl_h[128], token_h[2100],
		host_h[320], auth_h[2048], signature[65];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
	codec_sha256_hex(body ? body : "", len, hash);
	snprintf(host_h, sizeof host_h, "Host: %s", t->url.authority);
	snprintf(date_h, sizeof date_h, "X-Amz-Date: %s", amz_date);
	snprintf(hash_h, sizeof hash_h, "X-Amz-Content-SHA256: %s", hash);
	snprintf(acl_h, sizeof acl_h, "x-amz-acl: %s", acl ? acl : "");
	snprintf(token_h, sizeof token_h, "X-Amz-Security-Token: %s", t->token);
	/* Signed, in the canonical order: host, x-amz-acl, -content-sha256, -date, -security-token. */
	const char *signed_lines[6];
	size_t n = 0;
	signed_lines[n++] = host_h;
	if (acl)
		signed_lines[n++] = acl_h;
	signed_lines[n++] = hash_h;
	signed_lines[n++] = date_h;
	if (t->token[0])
		signed_lines[n++] = token_h;
	signed_lines[n] = NULL;
	struct sigv4_auth auth = { 0 };
	snprintf(auth.access_key, sizeof auth.access_key, "%s", t->access_key);
	snprintf(auth.date, sizeof auth.date, "%.8s", amz_date);
	snprintf(auth.region, sizeof auth.region, "%s", t->region);
	snprintf(auth.service, sizeof auth.service, "s3");
	snprintf(auth.signed_headers, sizeof auth.signed_headers, "host;%sx-amz-content-sha256;x-amz-date%s",
		 acl ? "x-amz-acl;" : "", t->token[0] ? ";x-amz-security-token" : "");
	struct header_list hl = { signed_lines };
	struct sigv4_request req = { .method = method, .path = path, .query = "",
				     .header = header_of, .header_ctx = &hl, .payload_hash = hash };
	struct err e = ERR_INIT;
	if (sigv4_sign(&req, &auth, t->secret, amz_date, signature, &e) < 0) {
		snprintf(error, cap, "signing failed: %.200s", e.message);
		return -1;
	}
	snprintf(auth_h, sizeof auth_h,
		 "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
		 "SignedHeaders=%s, Signature=%s", auth.access_key, auth.date, auth.region,
		 auth.signed_headers, signature);
	/* Host is added by guest_http; the others go as they were signed. */
	const char *lines[7];
	size_t m = 0;
	for (size_t i = 1; i < n; i++)
		lines[m++] = signed_lines[i];
	lines[m++] = auth_h;
	lines[m] = NULL;
	if (guest_http(&t->url, method, path, lines, body, len, 120, a, error, cap) < 0)
		return -1;
	return a->status;
}

/* The text of an XML error's <Code>, for messages. */
static void error_code(const struct guest_answer *a, char *out, size_t cap)
{
	const char *body = buf_str(&a->body), *p = strstr(body, "<Code>");
	out[0] = '\0';
	if (p) {
		p += 6;
		size_t n = strcspn(p, "<");
		snprintf(out, cap, "%.*s", (int)n, p);
	}
}

static int read_whole(const char *path, struct buf *out, size_t limit)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	char chunk[65536];
	size_t n;
	buf_reset(out);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && out->len <= limit)
		buf_append(out, chunk, n);
	int bad = ferror(f) || out->len > limit;
	fclose(f);
	if (!out->data)
		buf_append(out, "", 0);
	return bad ? -1 : 0;
}

/* PUTs one file as key; 0, or 1 with a message after the tries. */
static int upload_one(const struct s3_target *t, const char *bucket, const char *key,
		      const char *file, const char *acl, int tries)
{
	struct buf body = BUF_INIT, path = BUF_INIT;
	char error[512] = "", code[128];
	int rc = 1;
	if (read_whole(file, &body, BUNDLE_PART_SIZE * 4) < 0) {
		fprintf(stderr, "ec2-upload-bundle: cannot read %s: %s\n", file, strerror(errno));
		goto out;
	}
	buf_append_char(&path, '/');
	path_encode(bucket, &path);
	buf_append_char(&path, '/');
	path_encode(key, &path);
	for (int i = 0; i < tries && rc; i++) {
		struct guest_answer a;
		int status = s3_send(t, "PUT", path.data, acl, body.data, body.len, &a, error,
				     sizeof error);
		if (status == 200) {
			rc = 0;
		} else if (status > 0) {
			error_code(&a, code, sizeof code);
			snprintf(error, sizeof error, "HTTP %d %s", status, code);
		}
		if (status > 0)
			guest_answer_release(&a);
		if (status > 0 && status < 500 && status != 200)
			break; /* refused: trying again changes nothing */
		if (rc && i + 1 < tries)
			sleep(1u << i);
	}
	if (rc)
		fprintf(stderr, "ec2-upload-bundle: uploading %s failed: %s\n", file, error);
	else
		printf("Uploaded %s to %s/%s\n", strrchr(file, '/') ? strrchr(file, '/') + 1 : file,
		       bucket, key);
	fflush(stdout);
out:
	buf_release(&body);
	buf_release(&path);
	return rc;
}

static int upload_bundle(int argc, char **argv)
{
	static const struct option options[] = {
		{ "bucket", required_argument, NULL, 'b' },
		{ "manifest", required_argument, NULL, 'm' },
		{ "access-key", required_argument, NULL, 'a' },
		{ "secret-key", required_argument, NULL, 's' },
		{ "delegation-token", required_argument, NULL, 't' },
		{ "directory", required_argument, NULL, 'd' },
		{ "url", required_argument, NULL, 'U' },
		{ "region", required_argument, NULL, 'R' },
		{ "acl", required_argument, NULL, 'A' },
		{ "location", required_argument, NULL, 'L' },
		{ "retry", no_argument, NULL, 'r' },
		{ "skipmanifest", no_argument, NULL, 'S' },
		{ "batch", no_argument, NULL, 'B' },
		{ "debug", no_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *bucket_arg = NULL, *manifest = NULL, *dir = NULL, *url = NULL,
		   *region = NULL, *acl = "aws-exec-read";
	const char *access = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY"),
		   *token = getenv("AWS_SESSION_TOKEN");
	int tries = 1, skip_manifest = 0, opt;
	while ((opt = getopt_long(argc, argv, "b:m:a:s:t:d:h", options, NULL)) != -1) {
		switch (opt) {
		case 'b': bucket_arg = optarg; break;
		case 'm': manifest = optarg; break;
		case 'a': access = optarg; break;
		case 's': secret = optarg; break;
		case 't': token = optarg; break;
		case 'd': dir = optarg; break;
		case 'U': url = optarg; break;
		case 'R': region = optarg; break;
		case 'A': acl = optarg; break;
		case 'r': tries = 5; break;
		case 'S': skip_manifest = 1; break;
		case 'L': case 'B': case 'g': break;
		case 'h': upload_usage(stdout); return 0;
		default: upload_usage(stderr); return 2;
		}
	}
	if (!bucket_arg || !manifest) {
		fprintf(stderr, "ec2-upload-bundle: -b (bucket) and -m (manifest) are required\n");
		upload_usage(stderr);
		return 2;
	}
	if (!access || !*access || !secret || !*secret) {
		fprintf(stderr, "ec2-upload-bundle: no credentials: give -a and -s, or set "
				"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n");
		return 2;
	}
	struct s3_target t;
	memset(&t, 0, sizeof t);
	snprintf(t.access_key, sizeof t.access_key, "%s", access);
	snprintf(t.secret, sizeof t.secret, "%s", secret);
	snprintf(t.token, sizeof t.token, "%s", token ? token : "");
	struct buf v = BUF_INIT;
	if (!url)
		url = getenv("AWS_ENDPOINT_URL_S3");
	if (!url || !*url)
		url = getenv("AWS_ENDPOINT_URL");
	if ((!url || !*url) && imds_get("meta-data/services/amibox-api", &v) == 0)
		url = buf_str(&v);
	if (!url || !*url || guest_url_parse(url, &t.url) < 0) {
		fprintf(stderr, "ec2-upload-bundle: %s: give --url http://HOST:PORT (amibox's S3 "
				"endpoint)\n", url && *url ? "not an http:// URL" : "no S3 endpoint");
		buf_release(&v);
		return 2;
	}
	if (!region)
		region = getenv("AWS_DEFAULT_REGION");
	struct buf r = BUF_INIT;
	if ((!region || !*region) && imds_get("meta-data/placement/region", &r) == 0)
		region = buf_str(&r);
	snprintf(t.region, sizeof t.region, "%s", region && *region ? region : "us-east-1");
	buf_release(&r);
	buf_release(&v);

	/* The bucket, and the prefix under which the bundle goes. */
	char bucket[256];
	const char *slash = strchr(bucket_arg, '/');
	size_t blen = slash ? (size_t)(slash - bucket_arg) : strlen(bucket_arg);
	if (blen == 0 || blen >= sizeof bucket) {
		fprintf(stderr, "ec2-upload-bundle: '%s' names no bucket\n", bucket_arg);
		return 2;
	}
	memcpy(bucket, bucket_arg, blen);
	bucket[blen] = '\0';
	struct buf prefix = BUF_INIT, text = BUF_INIT, key = BUF_INIT, file = BUF_INIT,
		   path = BUF_INIT;
	if (slash && slash[1]) {
		buf_append_str(&prefix, slash + 1);
		if (prefix.data[prefix.len - 1] != '/')
			buf_append_char(&prefix, '/');
	}
	int rc = 1;
	char *mdir = xstrdup(manifest);
	if (!dir) {
		char *s = strrchr(mdir, '/');
		if (s)
			*s = '\0';
		dir = s ? (*mdir ? mdir : "/") : ".";
	}
	if (read_whole(manifest, &text, 1 << 24) < 0 || !strstr(buf_str(&text), "<manifest>")) {
		fprintf(stderr, "ec2-upload-bundle: %s is not a bundle manifest\n", manifest);
		goto out;
	}

	/* The bucket, made if it is missing (ours already: fine). */
	char error[512], code[128];
	struct guest_answer a;
	buf_append_char(&path, '/');
	path_encode(bucket, &path);
	int status = s3_send(&t, "PUT", path.data, NULL, NULL, 0, &a, error, sizeof error);
	if (status < 0) {
		fprintf(stderr, "ec2-upload-bundle: %s\n", error);
		goto out;
	}
	error_code(&a, code, sizeof code);
	guest_answer_release(&a);
	if (status != 200 && strcmp(code, "BucketAlreadyOwnedByYou") != 0) {
		fprintf(stderr, "ec2-upload-bundle: the bucket %s cannot be used: HTTP %d %s\n", bucket,
			status, code);
		rc = 3; /* the AMI tools' "bucket owned by someone else" */
		goto out;
	}

	/* The parts, as the manifest names them, then the manifest. */
	const char *p = text.data;
	size_t parts = 0;
	while ((p = strstr(p, "<filename>")) != NULL) {
		p += 10;
		size_t n = strcspn(p, "<");
		buf_reset(&file);
		buf_printf(&file, "%.*s", (int)n, p);
		if (!n || strchr(file.data, '/') || !strcmp(file.data, "..")) {
			fprintf(stderr, "ec2-upload-bundle: the manifest names a bad part '%s'\n",
				file.data);
			goto out;
		}
		buf_reset(&key);
		buf_printf(&key, "%s%s", prefix.data ? prefix.data : "", file.data);
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, file.data);
		if (upload_one(&t, bucket, key.data, path.data, acl, tries))
			goto out;
		parts++;
	}
	if (!parts) {
		fprintf(stderr, "ec2-upload-bundle: %s names no parts\n", manifest);
		goto out;
	}
	if (!skip_manifest) {
		const char *base = strrchr(manifest, '/') ? strrchr(manifest, '/') + 1 : manifest;
		buf_reset(&key);
		buf_printf(&key, "%s%s", prefix.data ? prefix.data : "", base);
		if (upload_one(&t, bucket, key.data, manifest, acl, tries))
			goto out;
		printf("Uploaded manifest to %s/%s\n", bucket, key.data);
	}
	printf("ec2-upload-bundle complete.\n");
	rc = 0;
out:
	free(mdir);
	buf_release(&prefix);
	buf_release(&text);
	buf_release(&key);
	buf_release(&file);
	buf_release(&path);
	return rc;
}

/* ---- the program ---------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(name, "ec2-bundle-vol") && strcmp(name, "ec2-upload-bundle") && argc > 1) {
		name = argv[1];
		argv++;
		argc--;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(name, "ec2-bundle-vol"))
		return bundle_vol(argc, argv);
	if (!strcmp(name, "ec2-upload-bundle"))
		return upload_bundle(argc, argv);
	fprintf(stderr, "usage: amibox-ec2-tools ec2-bundle-vol|ec2-upload-bundle [options]\n"
			"  (or call it by either name)\n");
	return 2;
}
