"""The PBX simulator's AMI server: Asterisk 22's manager interface, as the captures show it.

``AMIServerFactory`` (in :mod:`.server`) is what a service listens with;
``load_manager_conf``/``parse_manager_conf`` (in :mod:`.accounts`) give it its users.
"""
from .accounts import Account, ManagerConfig, load_manager_conf, parse_manager_conf
from .actions import SystemInfo
from .server import BANNER, AMIServerFactory, AMIServerProtocol

__all__ = ["AMIServerFactory", "AMIServerProtocol", "Account", "BANNER", "ManagerConfig",
           "SystemInfo", "load_manager_conf", "parse_manager_conf"]
