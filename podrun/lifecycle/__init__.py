"""The kubelet's pod rules, asyncio. Imports point one way (no circle):

    pod_worker        PodWorker: one task per pod; observe → compute_pod_actions → act; termination; cleanup
    actions           pure compute_pod_actions(spec, observed) → PodActions (kubelet computePodActions)
    container_runner  ContainerRunner: one run of one container (image, back-off, start, await exit)
    instance          create one instance (plan, cgroup, launch, attach, logs, record) and finish it
    handle            ContainerHandle: a running instance (process identity, exit, signal, cgroup, events, exec)
    podview           PodView: what a runner sees of its pod (spec, sandbox, status sink, sleeps)
    termination       kill_container / kill_pod on handles: preStop, stop signal, grace, SIGKILL, sidecar order
    hooks             postStart / preStop handlers: exec, httpGet, sleep
    restart           should_restart, the CrashLoopBackOff Backoff (client-go flowcontrol) and its GC
    termination_message  terminated.message from the file or the log tail
    teardown          the one teardown of a pod's node state (worker and daemon restore)
    context           NodeContext: what every worker shares (roots, status, clock, images, back-offs)
    probes/           ProbeManager/ProbeWorker per container run; results published to the pod's queue
"""
