"""Helpers for codedeploy-local end-to-end tests: a throwaway agent config and bundles."""
import os
import re
import stat
import subprocess

import harness


class LocalEnv(harness.Env):
    """A scratch root with an agent config pointing every directory inside it."""

    def __init__(self, name="local"):
        super().__init__(name)
        self.root = self.path("deployment-root")
        self.logdir = self.path("log")
        self.config = self.write("conf/codedeployagent.yml", "\n".join([
            "---",
            ":log_dir: '%s'" % self.logdir,
            ":pid_dir: '%s'" % self.path("state"),
            ":root_dir: '%s'" % self.root,
            ":verbose: true",
            ":on_premises_config_file: '%s'" % self.path("conf/onprem.yml"),
            ":hook_output_grace_seconds: 2",
            ""]))

    def bundle(self, name, appspec, scripts=None, files=None):
        """Write a directory bundle; scripts maps relative path -> body (made executable)."""
        d = self.path(name)
        os.makedirs(d, exist_ok=True)
        self.write(os.path.join(name, "appspec.yml"), appspec)
        for rel, body in (scripts or {}).items():
            self.write(os.path.join(name, rel), body, mode=0o755)
        for rel, body in (files or {}).items():
            self.write(os.path.join(name, rel), body)
        return d

    def local(self, *args, timeout=120, env=None):
        argv = [harness.LOCAL] + list(args)
        if "-c" not in args and "--agent-configuration-file" not in args:
            argv += ["-c", self.config]
        e = dict(os.environ)
        if env:
            e.update(env)
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=e)

    def folder_of(self, out):
        m = re.search(r"Starting to execute deployment from within folder (\S+)", out)
        assert m, "no folder line in output:\n" + out
        return m.group(1)


def event_log_script(path):
    """A hook script that appends its event and environment facts to path."""
    return ("#!/bin/sh\necho \"$LIFECYCLE_EVENT $DEPLOYMENT_ID $DEPLOYMENT_GROUP_NAME "
            "$APPLICATION_NAME $DEPLOYMENT_GROUP_ID\" >> %s\n" % path)


def hooks_yaml(events, location="scripts/ev.sh", extra=""):
    lines = ["version: 0.0", "os: linux", extra, "hooks:"]
    for ev in events:
        lines += ["  %s:" % ev, "    - location: %s" % location, "      timeout: 30"]
    return "\n".join(lines) + "\n"


def mode_of(p):
    return stat.S_IMODE(os.lstat(p).st_mode)
