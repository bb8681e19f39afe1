/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Records the kernel side writes into the ring buffer. The Rust side mirrors every
 * struct in crates/sensor/src/raw.rs with #[repr(C)] and checks the sizes at compile
 * time, so a change here must be made there too.
 */
#ifndef SOCKHUNT_H
#define SOCKHUNT_H

#define SH_TASK_COMM_LEN 16
#define SH_ARGV_MAX 4096          /* bytes of argv kept per exec */
#define SH_FILENAME_MAX 256
#define SH_TTY_MAX 32
#define SH_NAME_READ 128          /* bytes read per path component */
#define SH_PATH_BUF 1024          /* power of two: offsets are masked with it */
#define SH_PATH_TOTAL (SH_PATH_BUF + SH_NAME_READ)
#define SH_PATH_DEPTH 24          /* components walked before giving up */

enum sh_kind {
	SH_KIND_EXEC = 1,
	SH_KIND_FILE = 2,
	SH_KIND_SOCK_DIAG_SOCKET = 3,
	SH_KIND_SOCK_DIAG_SEND = 4,
	SH_KIND_EXIT = 5,
	SH_KIND_FORK = 6,
	SH_KIND_MAX = 8,
};

/* flags in sh_hdr.flags */
#define SH_F_ARGV_TRUNCATED (1u << 0)
#define SH_F_PATH_TRUNCATED (1u << 1)
#define SH_F_CWD_TRUNCATED (1u << 2)
#define SH_F_HEADER_UNREAD (1u << 3)

/* what an opened file is */
#define SH_FILE_PROC_NET 1
#define SH_FILE_SESSION_DB 2

struct sh_hdr {
	__u32 kind;
	__u32 flags;
	__u64 boot_ns;            /* bpf_ktime_get_boot_ns() */
	__u32 tgid;
	__u32 tid;
	__u32 ppid;               /* real_parent->tgid */
	__u32 uid;
	__u32 gid;
	__u32 _pad;
	char comm[SH_TASK_COMM_LEN];
};

/*
 * Paths (cwd, opened file) are walked from the leaf to the root: `buf` holds the
 * components leaf first, each NUL-terminated; user space reverses them.
 */
struct sh_path {
	__u32 len;                /* bytes used in buf */
	__u32 depth;              /* components in buf */
	char buf[SH_PATH_TOTAL];
};

struct sh_exec {
	struct sh_hdr hdr;
	__u64 cgroup_id;
	__u32 netns;
	__u32 sessionid;
	__u32 loginuid;
	__u32 argv_len;           /* bytes kept in argv */
	__u64 argv_full_len;      /* arg_end - arg_start */
	__u32 filename_len;
	__u32 tty_len;
	char tty[SH_TTY_MAX];
	char filename[SH_FILENAME_MAX];
	struct sh_path cwd;
	char argv[SH_ARGV_MAX];
};

struct sh_file {
	struct sh_hdr hdr;
	__u32 file_kind;          /* SH_FILE_* */
	__u32 syscall_nr;
	__s32 fd;
	__u32 f_flags;
	struct sh_path path;
};

struct sh_sock_diag_socket {
	struct sh_hdr hdr;
	__s32 fd;
	__u32 family;
	__u32 type;
	__u32 protocol;
};

struct sh_sock_diag_send {
	struct sh_hdr hdr;
	__u32 syscall_nr;
	__s32 sent;               /* bytes the send returned */
	__u32 nlmsg_len;
	__u16 nlmsg_type;
	__u16 nlmsg_flags;
	__u8 sdiag_family;
	__u8 sdiag_protocol;
	__u16 _pad;
	__u32 states;
};

struct sh_exit {
	struct sh_hdr hdr;
	__s32 exit_code;
	__u32 _pad;
};

/* fork of a new process (not a thread): hdr.tgid is the child, hdr.ppid the parent */
struct sh_fork {
	struct sh_hdr hdr;
};

#endif
