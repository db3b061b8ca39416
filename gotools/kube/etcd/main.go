// Command etcd is the etcd server: etcd's own entry point (go.etcd.io/etcd/server/v3/etcdmain),
// built at the version the pinned kube-apiserver uses.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
