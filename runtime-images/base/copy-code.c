/* copy-code: copies a directory of a code-only image (spec.code.image with a
 * managed runtime) into the function pod's code volume, mounted as the task
 * root. See docs/runtimes.md, "Code in an image".
 *
 *   copy-code SOURCE DESTINATION [MAX_BYTES [MAX_ENTRIES]]
 *
 * Built static, so it runs in any image, FROM scratch included: a first init
 * container (the runtime image) copies this program into an emptyDir, a second
 * (the code image) runs it from there. It copies SOURCE's contents into the
 * existing directory DESTINATION, and holds the code to what an unpacked zip
 * is held to (kappa/agent/code_archive.py):
 *
 *   - regular files, directories and symbolic links only (anything else fails);
 *   - nothing of another file system than SOURCE's: what the kubelet mounts
 *     into the container (/etc/hosts, /dev, /proc, these volumes) is no code;
 *     nor DESTINATION itself, should it be inside SOURCE on the same one;
 *   - symbolic links must be relative and stay inside the task root;
 *   - at most MAX_BYTES of file contents (Lambda's 250 MB unzipped) and
 *     MAX_ENTRIES files, directories and links, at most 64 directories deep;
 *   - files become read-only, executable when any x bit was set (0555/0444),
 *     directories 0555: set-id and write bits are never kept.
 *
 * Symbolic links are never followed, neither in SOURCE (below its top) nor in
 * DESTINATION. A failure exits 1 after writing Lambda's error shape,
 * {"errorType": ..., "errorMessage": ...}, to /dev/termination-log when it
 * exists (COPY_CODE_TERMINATION_LOG names another file, for tests; the controller
 * reports it as the pod's init error) and the message to stderr.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define DEFAULT_MAX_BYTES (250ULL * 1024 * 1024)
#define DEFAULT_MAX_ENTRIES 100000ULL
#define MAX_DEPTH 64
#define TERMINATION_LOG "/dev/termination-log"

static dev_t root_dev;
static struct stat destination; /* never copied into itself, whatever the file system */
static unsigned long long max_bytes = DEFAULT_MAX_BYTES, max_entries = DEFAULT_MAX_ENTRIES;
static unsigned long long copied_bytes, copied_entries;
static char path[PATH_MAX * 2]; /* the entry at hand, relative to SOURCE, for messages */

static void fail(const char *type, const char *format, ...) {
  char message[2048];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  fprintf(stderr, "copy-code: %s: %s\n", type, message);
  /* Only where the kubelet made it (never created: outside a pod it is not ours). */
  const char *where = getenv("COPY_CODE_TERMINATION_LOG");
  int fd = open(where ? where : TERMINATION_LOG, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  FILE *log = fd < 0 ? NULL : fdopen(fd, "w");
  if (log != NULL) {
    fprintf(log, "{\"errorType\": \"%s\", \"errorMessage\": \"", type);
    for (const unsigned char *c = (const unsigned char *)message; *c; c++) {
      if (*c == '"' || *c == '\\') fprintf(log, "\\%c", *c);
      else if (*c < 0x20) fprintf(log, "\\u%04x", *c);
      else fputc(*c, log);
    }
    fputs("\"}", log);
    fclose(log);
  }
  exit(1);
}

static void io_fail(const char *what) {
  fail("Kappa.CodeCopyFailed", "%s %s: %s", what, path[0] ? path : ".", strerror(errno));
}

/* Whether a link `depth` directories below the root, pointing to `target`, stays inside. */
static int stays_inside(int depth, const char *target) {
  if (target[0] == '\0' || target[0] == '/') return 0;
  const char *part = target;
  while (*part) {
    const char *end = strchr(part, '/');
    size_t len = end ? (size_t)(end - part) : strlen(part);
    if (len == 2 && part[0] == '.' && part[1] == '.') {
      if (--depth < 0) return 0;
    } else if (len > 0 && !(len == 1 && part[0] == '.')) {
      depth++;
    }
    part += len;
    while (*part == '/') part++;
  }
  return 1;
}

static void count_entry(void) {
  if (++copied_entries > max_entries)
    fail("Kappa.CodeTooLarge", "the code holds more than %llu files, directories and links",
         max_entries);
}

static void copy_file(int src_dir, int dst_dir, const char *name, mode_t mode) {
  int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
  if (in < 0) io_fail("cannot read");
  int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) io_fail("cannot create");
  char buffer[65536];
  for (;;) {
    ssize_t got = read(in, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      io_fail("cannot read");
    }
    if (got == 0) break;
    copied_bytes += (unsigned long long)got;
    if (copied_bytes > max_bytes)
      fail("Kappa.CodeTooLarge",
           "the code is larger than %llu bytes (Lambda's 250 MB unzipped): at %s", max_bytes,
           path);
    for (ssize_t done = 0; done < got;) {
      ssize_t put = write(out, buffer + done, (size_t)(got - done));
      if (put < 0) {
        if (errno == EINTR) continue;
        io_fail("cannot write");
      }
      done += put;
    }
  }
  if (fchmod(out, (mode & 0111) ? 0555 : 0444) < 0) io_fail("cannot set the mode of");
  if (close(out) < 0) io_fail("cannot write");
  close(in);
}

static void copy_link(int src_dir, int dst_dir, const char *name, int depth) {
  char target[PATH_MAX];
  ssize_t len = readlinkat(src_dir, name, target, sizeof target - 1);
  if (len < 0) io_fail("cannot read the link");
  target[len] = '\0';
  if (!stays_inside(depth, target))
    fail("Kappa.CodeUnsafe",
         "%s: the symbolic link points to %s, outside the code: links must be relative and "
         "stay inside the directory copied",
         path, target);
  if (symlinkat(target, dst_dir, name) < 0) io_fail("cannot create the link");
}

static void copy_dir(int src_dir, int dst_dir, int depth) {
  int listing = dup(src_dir);
  if (listing < 0) io_fail("cannot list");
  DIR *dir = fdopendir(listing);
  if (dir == NULL) io_fail("cannot list");
  size_t base = strlen(path);
  struct dirent *entry;
  while ((errno = 0, entry = readdir(dir)) != NULL) {
    const char *name = entry->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    if (base + strlen(name) + 2 >= sizeof path) {
      path[base] = '\0';
      fail("Kappa.CodeCopyFailed", "%s: a path in the code is too long", path);
    }
    snprintf(path + base, sizeof path - base, "%s%s", base ? "/" : "", name);
    struct stat st;
    if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) io_fail("cannot inspect");
    if (st.st_dev != root_dev) continue; /* mounted by the kubelet, not the image's */
    if (st.st_dev == destination.st_dev && st.st_ino == destination.st_ino) continue;
    count_entry();
    if (S_ISREG(st.st_mode)) {
      copy_file(src_dir, dst_dir, name, st.st_mode);
    } else if (S_ISLNK(st.st_mode)) {
      copy_link(src_dir, dst_dir, name, depth);
    } else if (S_ISDIR(st.st_mode)) {
      if (depth + 1 > MAX_DEPTH)
        fail("Kappa.CodeCopyFailed", "%s: directories nest deeper than %d", path, MAX_DEPTH);
      int src_child = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (src_child < 0) io_fail("cannot open the directory");
      if (mkdirat(dst_dir, name, 0700) < 0) io_fail("cannot create the directory");
      int dst_child = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dst_child < 0) io_fail("cannot open the directory");
      copy_dir(src_child, dst_child, depth + 1);
      if (fchmod(dst_child, 0555) < 0) io_fail("cannot set the mode of");
      close(src_child);
      close(dst_child);
    } else {
      fail("Kappa.CodeUnsafe",
           "%s is not a regular file, directory or symbolic link: leave it out of the code",
           path);
    }
    path[base] = '\0';
  }
  if (errno != 0) io_fail("cannot list");
  closedir(dir);
}

static unsigned long long number(const char *text, const char *what) {
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
    fail("Kappa.CodeCopyFailed", "%s must be a whole number, not %s", what, text);
  return value;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    fprintf(stderr, "usage: copy-code SOURCE DESTINATION [MAX_BYTES [MAX_ENTRIES]]\n");
    return 2;
  }
  if (argc > 3) max_bytes = number(argv[3], "MAX_BYTES");
  if (argc > 4) max_entries = number(argv[4], "MAX_ENTRIES");
  umask(0);
  /* SOURCE itself may be a link (the image's choice); nothing below it is followed. */
  int src = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (src < 0)
    fail("Kappa.CodeCopyFailed", "%s: %s in the code image (spec.code.imagePath)", argv[1],
         strerror(errno));
  int dst = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dst < 0) fail("Kappa.CodeCopyFailed", "%s: %s", argv[2], strerror(errno));
  struct stat st;
  if (fstat(src, &st) < 0 || fstat(dst, &destination) < 0) io_fail("cannot inspect");
  root_dev = st.st_dev;
  copy_dir(src, dst, 0);
  printf("copy-code: copied %llu entries, %llu bytes from %s\n", copied_entries, copied_bytes,
         argv[1]);
  return 0;
}
