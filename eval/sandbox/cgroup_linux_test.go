package sandbox

import (
	"slices"
	"testing"
)

// TestCgroupPlaces checks where sandbox cgroups would be made on the
// layouts Linux machines have.
func TestCgroupPlaces(t *testing.T) {
	tests := []struct {
		name       string
		procCgroup string
		mountinfo  string
		delegated  []string // v2 directories that delegate memory and pids
		want       []cgroupParent
	}{
		{
			name:       "systemd, cgroup v2, a user's terminal scope",
			procCgroup: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/vte-spawn-1.scope\n",
			mountinfo:  "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
			delegated:  []string{"/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice"},
			want:       []cgroupParent{{v2: "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice"}},
		},
		{
			name:       "docker, cgroup v2 namespace: nothing above the container's root",
			procCgroup: "0::/\n",
			mountinfo:  "620 610 0:29 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate\n",
			want:       nil,
		},
		{
			name:       "hybrid, v1 memory and pids (this development machine)",
			procCgroup: "8:pids:/\n4:memory:/process_api/092f\n0::/\n",
			mountinfo: "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
				"33 25 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n" +
				"35 25 0:31 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
			want: []cgroupParent{{mem: "/sys/fs/cgroup/memory/process_api/092f", pids: "/sys/fs/cgroup/pids"}},
		},
		{
			name:       "v1 mounted at a subtree (docker without a cgroup namespace)",
			procCgroup: "5:memory:/docker/abc\n",
			mountinfo:  "40 30 0:26 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory\n",
			want:       []cgroupParent{{mem: "/sys/fs/cgroup/memory"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []cgroupParent
			for _, p := range cgroupPlaces(tt.procCgroup, tt.mountinfo, func(d string) bool { return slices.Contains(tt.delegated, d) }) {
				got = append(got, *p)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("places = %+v, want %+v", got, tt.want)
			}
		})
	}
}
