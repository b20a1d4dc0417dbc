"""A small OpenStack control plane that talks over the broker as the real one does.

Each service is a :class:`~course.openstack.service.Service`: one process of a
binary on a host (``nova-compute`` on ``compute1``), with its own transport, so its
own connections and its own ``reply_<uuid>`` queue, as a real process has.
What real OpenStack does over HTTP (Nova with Neutron, Cinder, Glance,
Placement) stays off the bus here too, and the trace says so.
"""
