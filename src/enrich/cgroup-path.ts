/**
 * Pure parser: cgroup path (as in /proc/<pid>/cgroup or relative to the
 * cgroup2 mount) → container id, runtime and Kubernetes pod UID.
 *
 * Shapes recognised (table-tested in cgroup-path.test.ts):
 *   systemd driver   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope
 *                    … /crio-<id>.scope, … /docker-<id>.scope (dockershim / cri-dockerd)
 *   cgroupfs driver  /kubepods/burstable/pod<uid>/<id>, /kubepods/pod<uid>/<id> (guaranteed QoS)
 *   containerd v1    /system.slice/containerd.service/kubepods-…-pod<uid>.slice:cri-containerd:<id>
 *   Docker           /system.slice/docker-<id>.scope, /docker/<id>
 *   Podman           /machine.slice/libpod-<id>.scope, …/user@1000.service/…/libpod-<id>.scope
 * Segments below the container's (e.g. crun's `/container`, systemd's
 * `init.scope` inside a container) are ignored; conmon scopes
 * (crio-conmon-<id>.scope, libpod-conmon-<id>.scope) are not containers.
 */

export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman';
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

export interface CgroupIdentity {
  containerId?: string;
  /** Absent when the path does not say (cgroupfs driver: /kubepods/…/pod<uid>/<id>). */
  runtime?: ContainerRuntime;
  /** Pod UID in its canonical dashed form. */
  podUid?: string;
  qos?: QosClass;
}

const ID = '([0-9a-f]{64})';
const SCOPE_RUNTIMES: ReadonlyArray<[RegExp, ContainerRuntime]> = [
  [new RegExp(`^cri-containerd-${ID}\\.scope$`), 'containerd'],
  [new RegExp(`^crio-${ID}\\.scope$`), 'cri-o'],
  [new RegExp(`^docker-${ID}\\.scope$`), 'docker'],
  [new RegExp(`^libpod-${ID}\\.scope$`), 'podman'],
];
const SYSTEMD_POD = /^kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_]{32,36})\.slice$/;
const SYSTEMD_POD_CRI = new RegExp(
  `^kubepods(?:-(burstable|besteffort))?-pod([0-9a-f_]{32,36})\\.slice:cri-(containerd|o):${ID}$`,
);
const CGROUPFS_POD = /^pod([0-9a-f-]{32,36})$/;
const BARE_ID = new RegExp(`^${ID}$`);

/** Canonical pod UID: systemd slices encode '-' as '_'. */
export function normalizePodUid(raw: string): string {
  return raw.replace(/_/g, '-');
}

export function parseCgroupPath(path: string): CgroupIdentity {
  const out: CgroupIdentity = {};
  const segs = path.split('/');
  let inKubepods = false;
  let prev = '';
  for (let i = 0; i < segs.length && i < 64; i++) {
    const s = segs[i]!;
    if (s === '') continue;
    if (out.containerId !== undefined) break; // below the container's own cgroup
    if (s === 'kubepods' || s === 'kubepods.slice') {
      inKubepods = true;
    } else if (s === 'kubepods-burstable.slice' || s === 'kubepods-besteffort.slice') {
      inKubepods = true;
      out.qos = s === 'kubepods-burstable.slice' ? 'burstable' : 'besteffort';
    } else {
      let m = SYSTEMD_POD.exec(s);
      if (m) {
        inKubepods = true;
        out.podUid = normalizePodUid(m[2]!);
        out.qos = (m[1] as QosClass | undefined) ?? 'guaranteed';
      } else if ((m = SYSTEMD_POD_CRI.exec(s))) {
        out.podUid = normalizePodUid(m[2]!);
        out.qos = (m[1] as QosClass | undefined) ?? 'guaranteed';
        out.containerId = m[4]!;
        out.runtime = m[3] === 'o' ? 'cri-o' : 'containerd';
      } else if (inKubepods && (s === 'burstable' || s === 'besteffort') && prev === 'kubepods') {
        out.qos = s;
      } else if (inKubepods && (m = CGROUPFS_POD.exec(s))) {
        out.podUid = s.slice(3);
        out.qos ??= 'guaranteed';
      } else {
        let matched = false;
        for (const [re, runtime] of SCOPE_RUNTIMES) {
          const r = re.exec(s);
          if (r) {
            out.containerId = r[1]!;
            out.runtime = runtime;
            matched = true;
            break;
          }
        }
        if (!matched && BARE_ID.test(s)) {
          if (out.podUid !== undefined)
            out.containerId = s; // cgroupfs: /kubepods/…/pod<uid>/<id>
          else if (prev === 'docker') {
            out.containerId = s;
            out.runtime = 'docker';
          }
        }
      }
    }
    prev = s;
  }
  return out;
}

/** True when the path belongs to no container and no pod: a host process. */
export function isHostPath(id: CgroupIdentity): boolean {
  return id.containerId === undefined && id.podUid === undefined;
}
