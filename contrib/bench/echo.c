/* echo.c -- the floor server of contrib/bench/peers.py.
 *
 * A trivial UDP "DNS server" that does no DNS work at all: one thread, one
 * socket, a batch of datagrams read with recvmmsg() (MSG_WAITFORONE: blocks
 * for the first, takes what else is queued), the QR bit of each set
 * (byte 2, 0x80), the same batch sent back with sendmmsg().  Whatever CPU a
 * real server spends per query above this is its own work; what this one
 * spends is the kernel's share of receiving and sending on loopback plus the
 * least possible user-space loop.
 *
 *     echo ADDR PORT        e.g.  echo 127.0.0.1 0   (0: the kernel picks)
 *
 * Prints "listening on ADDR port N" and then "ready" on stderr, runs until
 * SIGTERM/SIGINT.  Datagrams shorter than a DNS header are dropped, as are
 * those that already have QR set (so two echo servers never loop).
 *
 * Build: cc -O2 -Wall -o echo echo.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define BUFSZ 4096

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    static unsigned char bufs[BATCH][BUFSZ];
    struct mmsghdr in[BATCH], out[BATCH];
    struct iovec iov[BATCH], oiov[BATCH];
    struct sockaddr_storage peers[BATCH];
    struct sockaddr_in sa;
    struct sigaction act;
    socklen_t len = sizeof sa;
    int fd, one = 1;

    if (argc != 3) {
        fprintf(stderr, "usage: %s ADDR PORT\n", argv[0]);
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "echo: bad IPv4 address %s\n", argv[1]);
        return 2;
    }
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        perror("echo: socket/bind");
        return 1;
    }

    memset(&act, 0, sizeof act);
    act.sa_handler = on_signal;      /* no SA_RESTART: a signal ends recvmmsg() */
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);

    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = BUFSZ;
    }
    fprintf(stderr, "echo: listening on %s port %u\necho: ready\n", argv[1],
            (unsigned)ntohs(sa.sin_port));

    while (!stop) {
        int n, m, sent;

        for (int i = 0; i < BATCH; i++) {
            memset(&in[i].msg_hdr, 0, sizeof in[i].msg_hdr);
            in[i].msg_hdr.msg_iov = &iov[i];
            in[i].msg_hdr.msg_iovlen = 1;
            in[i].msg_hdr.msg_name = &peers[i];
            in[i].msg_hdr.msg_namelen = sizeof peers[i];
        }
        /* Blocks for the first datagram, then takes what is queued. */
        n = recvmmsg(fd, in, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            perror("echo: recvmmsg");
            return 1;
        }
        m = 0;
        for (int i = 0; i < n; i++) {
            unsigned char *p = bufs[i];
            if (in[i].msg_len < 12 || (p[2] & 0x80))
                continue;
            p[2] |= 0x80;
            oiov[m].iov_base = p;
            oiov[m].iov_len = in[i].msg_len;
            memset(&out[m].msg_hdr, 0, sizeof out[m].msg_hdr);
            out[m].msg_hdr.msg_iov = &oiov[m];
            out[m].msg_hdr.msg_iovlen = 1;
            out[m].msg_hdr.msg_name = &peers[i];
            out[m].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
            m++;
        }
        for (sent = 0; sent < m;) {
            int r = sendmmsg(fd, out + sent, (unsigned)(m - sent), 0);
            if (r <= 0)
                break;         /* full buffer or error: drop the rest */
            sent += r;
        }
    }
    close(fd);
    return 0;
}
