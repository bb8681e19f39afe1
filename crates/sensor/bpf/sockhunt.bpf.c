// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Kernel side of the sockhunt sensor.
 *
 * Every hook is a BTF tracepoint (tp_btf): they need no tracefs, load where fentry,
 * kprobes and LSM programs are refused, and hand the program typed kernel pointers.
 *
 *   sched_process_exec  -> exec record with argv read from the new mm (a read of
 *                          /proc/<pid>/cmdline from user space loses short-lived runs)
 *   sched_process_fork  -> new process (not thread), so a child that never execs
 *                          still has a known parent and image
 *   sched_process_exit  -> end of a thread group
 *   sys_exit            -> successful open/openat/openat2: the returned fd is
 *                          resolved to its dentry, so every spelling of a path
 *                          (relative, symlinked, /proc/self, /proc/thread-self)
 *                          is seen as the file it really is; and socket() of a
 *                          NETLINK_SOCK_DIAG socket
 *   sock_send_length    -> a send on a NETLINK_SOCK_DIAG socket, with the request
 *                          header recovered from the sender's memory
 *
 * Records are submitted without waking the reader until the buffer holds
 * `wakeup_bytes`: a wakeup per record costs far more than the program itself, and
 * user space drains on a short timer anyway.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "sockhunt.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* set by the loader */
const volatile __u32 self_tgid = 0;          /* the sensor itself: never reported */
const volatile __u64 wakeup_bytes = 65536;   /* wake the reader past this fill */

#define PROC_SUPER_MAGIC 0x9fa0
#define AF_NETLINK 16
#define NETLINK_SOCK_DIAG 4

/* x86_64 syscall numbers */
#define NR_write 1
#define NR_open 2
#define NR_writev 20
#define NR_socket 41
#define NR_sendto 44
#define NR_sendmsg 46
#define NR_sendmmsg 307
#define NR_openat 257
#define NR_openat2 437

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} events SEC(".maps");

/* failed reservations, per record kind */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SH_KIND_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count_drop(__u32 kind)
{
	__u64 *c = bpf_map_lookup_elem(&drops, &kind);
	if (c)
		*c += 1;
}

static __always_inline void submit(void *rec)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(rec, avail >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void fill_hdr(struct sh_hdr *h, __u32 kind, struct task_struct *t)
{
	__u64 ugid = bpf_get_current_uid_gid();

	h->kind = kind;
	h->flags = 0;
	h->boot_ns = bpf_ktime_get_boot_ns();
	h->tgid = BPF_CORE_READ(t, tgid);
	h->tid = BPF_CORE_READ(t, pid);
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->uid = (__u32)ugid;
	h->gid = (__u32)(ugid >> 32);
	h->_pad = 0;
	BPF_CORE_READ_STR_INTO(&h->comm, t, comm);
}

struct walk_ctx {
	struct sh_path *out;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u32 off;
	__u32 depth;
	int done;
};

/* one step of walk_path; bpf_loop verifies it once instead of once per iteration */
static long walk_step(__u32 i, void *data)
{
	struct walk_ctx *w = data;
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	if (dentry == mnt_root || dentry == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (dentry != mnt_root || up == mnt) {
			w->done = 1;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vfsmnt = &up->mnt;
		return 0;
	}
	__u32 off = w->off;
	if (off >= SH_PATH_BUF)
		return 1;
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	struct sh_path *out = w->out;
	long n = bpf_probe_read_kernel_str(&out->buf[off & (SH_PATH_BUF - 1)], SH_NAME_READ, name);
	if (n <= 0)
		return 1;
	w->off = off + n;
	w->depth++;
	w->dentry = parent;
	return 0;
}

/*
 * Walks a path from its dentry up to the global root, crossing mounts, writing the
 * component names leaf first. Returns 1 when the walk stopped before the root.
 */
static __always_inline int walk_path(struct sh_path *out, struct dentry *dentry,
				     struct vfsmount *vfsmnt)
{
	struct walk_ctx w = {
		.out = out,
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt),
	};

	bpf_loop(SH_PATH_DEPTH, walk_step, &w, 0);
	out->len = w.off > SH_PATH_TOTAL ? SH_PATH_TOTAL : w.off;
	out->depth = w.depth;
	return !w.done;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct sh_exec *e;
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (tgid == self_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(SH_KIND_EXEC);
		return 0;
	}
	fill_hdr(&e->hdr, SH_KIND_EXEC, p);

	e->cgroup_id = bpf_get_current_cgroup_id();
	e->netns = BPF_CORE_READ(p, nsproxy, net_ns, ns.inum);
	if (bpf_core_field_exists(p->sessionid)) {
		e->sessionid = BPF_CORE_READ(p, sessionid);
		e->loginuid = BPF_CORE_READ(p, loginuid.val);
	} else {
		e->sessionid = (__u32)-1;
		e->loginuid = (__u32)-1;
	}

	const char *filename = BPF_CORE_READ(bprm, filename);
	long n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), filename);
	e->filename_len = n > 0 ? n - 1 : 0;

	e->tty_len = 0;
	struct tty_struct *tty = BPF_CORE_READ(p, signal, tty);
	if (tty) {
		n = bpf_probe_read_kernel_str(e->tty, sizeof(e->tty), &tty->name);
		e->tty_len = n > 0 ? n - 1 : 0;
	}

	struct fs_struct *fs = BPF_CORE_READ(p, fs);
	e->cwd.len = 0;
	e->cwd.depth = 0;
	if (fs && walk_path(&e->cwd, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt)))
		e->hdr.flags |= SH_F_CWD_TRUNCATED;

	struct mm_struct *mm = BPF_CORE_READ(p, mm);
	__u64 start = BPF_CORE_READ(mm, arg_start);
	__u64 end = BPF_CORE_READ(mm, arg_end);
	__u64 len = end > start ? end - start : 0;

	e->argv_full_len = len;
	if (len > SH_ARGV_MAX) {
		len = SH_ARGV_MAX;
		e->hdr.flags |= SH_F_ARGV_TRUNCATED;
	}
	e->argv_len = 0;
	if (len > 0 && bpf_probe_read_user(e->argv, len, (void *)start) == 0)
		e->argv_len = len;

	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct sh_fork *e;

	/* threads share the process's entry */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	if (BPF_CORE_READ(parent, tgid) == self_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(SH_KIND_FORK);
		return 0;
	}
	fill_hdr(&e->hdr, SH_KIND_FORK, child);
	submit(e);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p)
{
	struct sh_exit *e;

	/* only the last thread of a process ends it */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	if (BPF_CORE_READ(p, tgid) == self_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(SH_KIND_EXIT);
		return 0;
	}
	fill_hdr(&e->hdr, SH_KIND_EXIT, p);
	e->exit_code = BPF_CORE_READ(p, exit_code);
	e->_pad = 0;
	submit(e);
	return 0;
}

static __always_inline int name_is(const unsigned char *name, const char *want, int len)
{
	char buf[16] = {};

	if (bpf_probe_read_kernel_str(buf, sizeof(buf), name) != len + 1)
		return 0;
	for (int i = 0; i < len && i < 16; i++)
		if (buf[i] != want[i])
			return 0;
	return 1;
}

/* utmp wtmp btmp lastlog wtmp.db lastlog2.db; `n` counts the NUL */
static __always_inline int is_session_db(const char *buf, long n)
{
	if (n == 5 && buf[1] == 't' && buf[2] == 'm' && buf[3] == 'p' &&
	    (buf[0] == 'u' || buf[0] == 'w' || buf[0] == 'b'))
		return 1;
	if (n == 8 && buf[0] == 'w' && buf[1] == 't' && buf[2] == 'm' && buf[3] == 'p' &&
	    buf[4] == '.' && buf[5] == 'd' && buf[6] == 'b')
		return 1;
	if (n >= 8 && buf[0] == 'l' && buf[1] == 'a' && buf[2] == 's' && buf[3] == 't' &&
	    buf[4] == 'l' && buf[5] == 'o' && buf[6] == 'g') {
		if (n == 8)
			return 1;
		if (n == 12 && buf[7] == '2' && buf[8] == '.' && buf[9] == 'd' && buf[10] == 'b')
			return 1;
	}
	return 0;
}

/*
 * The head of a struct dentry, read with one helper call: d_parent, d_name, the
 * inline name short names live in, d_op and d_sb lie in its first ~112 bytes.
 * Every open passes here, so helper calls are what the hook costs.
 */
#define DENTRY_HEAD 192

static __always_inline int on_open(long nr, long fd)
{
	struct task_struct *t;
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;
	struct dentry *d = NULL;
	struct super_block *sb;
	unsigned long magic = 0;
	__u32 kind = 0;
	char head[DENTRY_HEAD];

	if ((bpf_get_current_pid_tgid() >> 32) == self_tgid)
		return 0;
	/* task, files and fdtable are BTF pointers: plain loads, no helper calls */
	t = bpf_get_current_task_btf();
	fdt = t->files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return 0;
	fds = fdt->fd;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	if (!f)
		return 0;
	bpf_probe_read_kernel(&d, sizeof(d),
			      (void *)f + bpf_core_field_offset(struct file, f_path.dentry));
	if (!d)
		return 0;

	__u32 off_sb = bpf_core_field_offset(struct dentry, d_sb);
	__u32 off_name = bpf_core_field_offset(struct dentry, d_name.name);
	/* the inline name buffer follows d_inode in every kernel */
	__u32 off_inline = bpf_core_field_offset(struct dentry, d_inode) + sizeof(void *);
	if (off_sb + 8 > DENTRY_HEAD || off_name + 8 > DENTRY_HEAD || off_inline + 16 > DENTRY_HEAD)
		return 0;
	if (bpf_probe_read_kernel(head, off_sb + 8, d))
		return 0;
	sb = *(struct super_block **)&head[off_sb];
	bpf_probe_read_kernel(&magic, sizeof(magic),
			      (void *)sb + bpf_core_field_offset(struct super_block, s_magic));

	if (magic == PROC_SUPER_MAGIC) {
		struct dentry *parent = BPF_CORE_READ(d, d_parent);
		char c = 0;

		if (!name_is(BPF_CORE_READ(parent, d_name.name), "net", 3))
			return 0;
		/* /proc/<pid>/net/x or /proc/<pid>/task/<tid>/net/x, never /proc/sys/net/x */
		bpf_probe_read_kernel(&c, 1, BPF_CORE_READ(parent, d_parent, d_name.name));
		if (c < '0' || c > '9')
			return 0;
		kind = SH_FILE_PROC_NET;
	} else {
		/* session databases have short names, kept inline in the dentry */
		const char *name = *(const char **)&head[off_name];
		const char *inl = &head[off_inline];
		long n = 0;

		if (name != (const char *)d + off_inline)
			return 0;
		for (int i = 0; i < 13; i++) {
			if (inl[i] == 0) {
				n = i + 1;
				break;
			}
		}
		if (!is_session_db(inl, n))
			return 0;
		kind = SH_FILE_SESSION_DB;
	}

	struct sh_file *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(SH_KIND_FILE);
		return 0;
	}
	fill_hdr(&e->hdr, SH_KIND_FILE, t);
	e->file_kind = kind;
	e->syscall_nr = nr;
	e->fd = fd;
	e->f_flags = BPF_CORE_READ(f, f_flags);
	if (walk_path(&e->path, d, BPF_CORE_READ(f, f_path.mnt)))
		e->hdr.flags |= SH_F_PATH_TRUNCATED;
	submit(e);
	return 0;
}

static __always_inline int on_socket(struct pt_regs *regs, long fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 family = regs->di, type = regs->si, protocol = regs->dx;
	struct sh_sock_diag_socket *e;

	if (family != AF_NETLINK || protocol != NETLINK_SOCK_DIAG)
		return 0;
	if (BPF_CORE_READ(t, tgid) == self_tgid)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(SH_KIND_SOCK_DIAG_SOCKET);
		return 0;
	}
	fill_hdr(&e->hdr, SH_KIND_SOCK_DIAG_SOCKET, t);
	e->fd = fd;
	e->family = family;
	e->type = type;
	e->protocol = protocol;
	submit(e);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(handle_sys_exit, struct pt_regs *regs, long ret)
{
	long nr;

	if (ret < 0)
		return 0;
	nr = regs->orig_ax;
	if (nr == NR_openat || nr == NR_open || nr == NR_openat2)
		return on_open(nr, ret);
	if (nr == NR_socket)
		return on_socket(regs, ret);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(handle_sock_send, struct sock *sk, int ret, int flags)
{
	struct task_struct *t;
	struct pt_regs *regs;
	struct sh_sock_diag_send *e;
	void *buf = NULL;
	long nr;
	__u8 req[24] = {};

	if (ret <= 0)
		return 0;
	if (BPF_CORE_READ(sk, __sk_common.skc_family) != AF_NETLINK)
		return 0;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != NETLINK_SOCK_DIAG)
		return 0;
	t = bpf_get_current_task_btf();
	if (BPF_CORE_READ(t, tgid) == self_tgid)
		return 0;

	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	nr = BPF_CORE_READ(regs, orig_ax);
	void *arg = (void *)BPF_CORE_READ(regs, si);
	if (nr == NR_sendto || nr == NR_write) {
		buf = arg;
	} else if (nr == NR_sendmsg || nr == NR_sendmmsg) {
		/* struct mmsghdr starts with its struct user_msghdr */
		struct user_msghdr *m = arg;
		struct iovec *iov = BPF_CORE_READ_USER(m, msg_iov);
		if (iov)
			buf = BPF_CORE_READ_USER(iov, iov_base);
	} else if (nr == NR_writev) {
		struct iovec *iov = arg;
		buf = BPF_CORE_READ_USER(iov, iov_base);
	}

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop(SH_KIND_SOCK_DIAG_SEND);
		return 0;
	}
	fill_hdr(&e->hdr, SH_KIND_SOCK_DIAG_SEND, t);
	e->syscall_nr = nr;
	e->sent = ret;
	if (!buf || bpf_probe_read_user(req, sizeof(req), buf) != 0)
		e->hdr.flags |= SH_F_HEADER_UNREAD;
	/* struct nlmsghdr, then the first bytes of inet_diag_req_v2 / unix_diag_req */
	e->nlmsg_len = *(__u32 *)&req[0];
	e->nlmsg_type = *(__u16 *)&req[4];
	e->nlmsg_flags = *(__u16 *)&req[6];
	e->sdiag_family = req[16];
	e->sdiag_protocol = req[17];
	e->_pad = 0;
	e->states = *(__u32 *)&req[20];
	submit(e);
	return 0;
}
