/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cluster.h - the door of user/cluster/: what a Tollgate node shares with the others.
 * Today the etcd v3 client (etcd.h: its JSON gateway over libcurl).
 *
 * Included by: daemon, cli and the tests. Includes: lib.
 */
#ifndef TG_CLUSTER_H
#define TG_CLUSTER_H

#include "etcd.h"

#endif /* TG_CLUSTER_H */
