#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""CCTV: analyse several RTSP cameras in one process with one shared emotion model, writing each
camera's results as JSON Lines (OUTPUT/cam0.jsonl, cam1.jsonl, ...) and, with --restream-port,
serving each camera's annotated video again over RTSP (rtsp://HOST:PORT/cam0, /cam1, ...).

Every camera runs in a pipeline of its own, so one camera's failure never stops the others. A camera
that fails (an error or end of stream from its source, or no frame for --timeout seconds) is torn
down and reconnected after 1 s, then 2, 4, ... up to --max-backoff. Outages are logged on stderr and
written to the camera's file as event lines while it is down:
  {"event": "disconnected", "camera": "cam0", "source": URI, "time": ISO-8601 UTC, "reason": "..."}
  {"event": "reconnected", "camera": "cam0", ..., "downtime": seconds, "attempts": N}
("connected" marks a camera's first frame in a run). Frame records restart their timestamps after
each (re)connection. Files are appended to, also across runs; two runs at once cannot share an
output folder (it holds a lock, .cctv.lock). Runs until Ctrl-C, SIGTERM or --duration, then ends
every stream with EOS so that all files are complete.

A camera's user name and password (rtsp://admin:secret@cam/live) are used to connect only: logs,
events and records name it as rtsp://cam/live. The restream listens on 127.0.0.1 unless
--restream-address says otherwise; --restream-credentials asks viewers for a user name and
password (RTSP digest authentication)."""

import argparse
import datetime
import errno
import fcntl
import ipaddress
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

import gi

import common
from common import GLib, Gst

gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GstRtsp, GstRtspServer  # noqa: E402

EXAMPLES = """examples, from the top of a checkout (with the plugin installed, drop "meson devenv -C build -w ."):
  meson devenv -C build -w . pipelines/cctv.py rtsp://10.0.0.11/stream rtsp://10.0.0.12/stream
  meson devenv -C build -w . pipelines/cctv.py -o /var/lib/cctv --restream-port 8554 \\
      --detection-interval 5 --inference-interval 5 rtsp://cam1/h264 rtsp://cam2/h264"""

CAMERA_PIPELINE = ('uridecodebin name=source caps=video/x-raw ! videoconvert ! feremotion name=analysis ! '
                   'feremotionexport name=export append=true ! {sink}')
RESTREAM_LAUNCH = ('( intervideosrc channel={channel} ! videoconvert ! openh264enc bitrate=2000000 ! '
                   'h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )')
FIRST_BACKOFF = 1.0
EOS_WAIT_S = 5  # for the cameras that are finishing their files at the end of the run


def amount(text, zero_ok=False):
    """An argparse type: a number above 0 (or at least 0)."""
    value = float(text)
    if value < 0 or (value == 0 and not zero_ok):
        raise argparse.ArgumentTypeError(f'{text} is not {"0 or more" if zero_ok else "above 0"}')
    return value


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, epilog=EXAMPLES + common.DEVENV_NOTE,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('cameras', nargs='+', metavar='URI', help='camera URIs (rtsp://...); cam0 is the first')
    parser.add_argument('-o', '--output', default='cctv-output', metavar='FOLDER',
                        help='folder of the camN.jsonl files, created if needed (default %(default)s)')
    parser.add_argument('--restream-port', type=int, metavar='PORT',
                        help='serve each camera\'s annotated video at rtsp://ADDRESS:PORT/camN')
    parser.add_argument('--restream-address', default='127.0.0.1', metavar='ADDRESS',
                        help='address the restream listens on (default %(default)s: this machine only; '
                             '0.0.0.0 for every interface)')
    parser.add_argument('--restream-credentials', metavar='FILE',
                        help='viewers must log in (RTSP digest authentication) as one of the '
                             '"user:password" lines of FILE (default: no login)')
    parser.add_argument('--duration', type=amount, metavar='SECONDS', help='stop after this long (default: run '
                        'until Ctrl-C or SIGTERM)')
    parser.add_argument('--timeout', type=amount, default=10, metavar='SECONDS',
                        help='a camera without a frame for this long is reconnected (default %(default)s)')
    parser.add_argument('--max-backoff', type=amount, default=30, metavar='SECONDS',
                        help='longest wait between reconnection attempts (default %(default)s)')
    parser.add_argument('--latency', type=lambda text: int(amount(text, zero_ok=True)), default=200, metavar='MS',
                        help='RTSP jitter buffer (rtspsrc latency, default %(default)s)')
    parser.add_argument('--tcp', action='store_true', help='receive RTSP over TCP (default: UDP, then TCP)')
    group = common.add_analysis_options(parser)
    group.add_argument('--model-instance-id', default='cctv', metavar='ID',
                       help='the cameras share one model under this id and batch their faces together '
                            '(default %(default)s)')
    group.add_argument('--inference-interval', type=int, metavar='N',
                       help='classify faces every N frames, reusing results in between (element default: 1)')
    group.add_argument('--batch-timeout', type=int, metavar='MS',
                       help='longest wait for other cameras\' faces before a forward pass (element default: 5)')
    return parser.parse_args()


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


class Camera:
    """One camera: its pipeline while connected, its reconnection timer while down."""

    def __init__(self, index, uri, args, on_fatal):
        self.name, self.uri, self.args, self.on_fatal = f'cam{index}', uri, args, on_fatal
        self.public_uri = common.without_credentials(uri)  # what logs and files say
        self.results = os.path.join(args.output, self.name + '.jsonl')
        self.channel = 'feremotion-cctv-' + self.name  # intervideosink -> the RTSP server
        self.pipeline = None
        self.bus_handler = 0
        self.retry = 0                 # GLib source of the pending reconnection
        self.backoff = FIRST_BACKOFF
        self.lock = threading.Lock()   # guards what the streaming thread's probe touches below
        self.down_since = None         # wall-clock time of the outage's start, None while up
        self.attempts = 0              # failed reconnections in this outage
        self.ever_connected = False
        self.first_frame = True        # of the current pipeline
        self.last_data = 0.0           # monotonic time of the last frame, or of the start
        self.frames = 0
        self.outages = 0
        self.warnings = set()          # texts logged: a camera reconnected or a file replayed repeats them

    def redact(self, text):
        """`text` (ours or GStreamer's) with the camera's credentials taken out."""
        text = text.replace(self.uri, self.public_uri)
        userinfo = urllib.parse.urlsplit(self.uri).netloc.rpartition('@')[0]
        return text.replace(userinfo, '***') if userinfo else text

    def log(self, message):
        common.log(self.redact(f'{self.name}: {message}'))

    def write_event(self, event, **fields):
        fields = {key: self.redact(value) if isinstance(value, str) else value for key, value in fields.items()}
        with open(self.results, 'a') as results:
            results.write(json.dumps({'event': event, 'camera': self.name, 'source': self.public_uri,
                                      'time': utc_now(), **fields}) + '\n')

    def start(self):
        self.retry = 0
        sink = 'intervideosink name=out sync=false' if self.args.restream_port else 'fakesink sync=false'
        pipeline = Gst.parse_launch(CAMERA_PIPELINE.format(sink=sink))
        source = pipeline.get_by_name('source')
        source.set_property('uri', self.uri)
        source.connect('source-setup', self.on_source_setup)
        common.configure_feremotion(pipeline.get_by_name('analysis'), self.args,
                                    model_instance_id=self.args.model_instance_id,
                                    inference_interval=self.args.inference_interval,
                                    batch_timeout=self.args.batch_timeout,
                                    overlay=bool(self.args.restream_port))
        export = pipeline.get_by_name('export')
        export.set_property('location', self.results)
        export.set_property('source', self.public_uri)
        export.get_static_pad('sink').add_probe(Gst.PadProbeType.BUFFER, self.on_frame)
        if self.args.restream_port:
            pipeline.get_by_name('out').set_property('channel', self.channel)
        bus = pipeline.get_bus()
        bus.add_signal_watch()
        self.bus_handler = bus.connect('message', self.on_message, pipeline)
        with self.lock:
            self.pipeline, self.first_frame, self.last_data = pipeline, True, time.monotonic()
        pipeline.set_state(Gst.State.PLAYING)  # a failure arrives as an ERROR message
        return GLib.SOURCE_REMOVE

    def on_source_setup(self, _bin, source):
        if source.find_property('latency') is not None and source.find_property('protocols') is not None:
            source.set_property('latency', self.args.latency)
            if self.args.tcp:
                Gst.util_set_object_arg(source, 'protocols', 'tcp')

    def on_frame(self, _pad, _info):
        """Streaming thread, before feremotionexport writes the frame: a (re)connection's event line
        goes in first."""
        with self.lock:
            self.last_data = time.monotonic()
            self.frames += 1
            if self.first_frame:
                self.first_frame = False
                if self.down_since is None and not self.ever_connected:
                    self.write_event('connected')
                    self.log('connected')
                elif self.down_since is not None:
                    downtime = round(time.time() - self.down_since, 3)
                    self.write_event('reconnected', downtime=downtime, attempts=self.attempts + 1)
                    self.log(f'reconnected after {downtime:.1f} s')
                self.ever_connected, self.down_since, self.attempts = True, None, 0
                self.backoff = FIRST_BACKOFF
        return Gst.PadProbeReturn.OK

    def on_message(self, _bus, message, pipeline):
        if pipeline is not self.pipeline:
            return
        if message.type == Gst.MessageType.ERROR:
            reason = common.describe_error(message)
            if message.src.get_name() in ('analysis', 'export') and not self.ever_connected:
                self.teardown()  # settings or output folder: retrying cannot help
                self.on_fatal(self.redact(f'{self.name}: {reason}'))
            else:
                self.fail(reason)
        elif message.type == Gst.MessageType.EOS:
            self.fail('end of stream')
        elif message.type == Gst.MessageType.WARNING:
            warning, _debug = message.parse_warning()
            text = f'{warning.message} ({message.src.get_name()})'
            if text not in self.warnings:
                self.warnings.add(text)
                self.log(f'warning: {text} (logged once)')

    def check_timeout(self, now):
        if self.pipeline is not None and now - self.last_data > self.args.timeout:
            self.fail(f'no frame for {self.args.timeout:g} s')

    def detach(self):
        """The pipeline, no longer this camera's: its messages are not handled any more."""
        pipeline, self.pipeline = self.pipeline, None
        bus = pipeline.get_bus()
        bus.disconnect(self.bus_handler)  # the handler holds the pipeline: this frees it
        bus.remove_signal_watch()
        return pipeline

    def teardown(self):
        """Stops the pipeline, which closes the file (event lines can be appended then)."""
        self.detach().set_state(Gst.State.NULL)

    def fail(self, reason):
        """Main thread: tears the pipeline down and schedules a reconnection."""
        if self.pipeline is None:
            return
        self.teardown()
        with self.lock:
            if self.down_since is None:
                self.down_since = time.time()
                self.outages += 1
                self.write_event('disconnected', reason=reason)
                self.log(f'disconnected: {reason}; reconnecting in {self.backoff:g} s')
            else:
                self.attempts += 1
                self.log(f'reconnection {self.attempts} failed: {reason}; next in {self.backoff:g} s')
            delay, self.backoff = self.backoff, min(self.backoff * 2, self.args.max_backoff)
        self.retry = GLib.timeout_add(int(delay * 1000), self.start)

    def stop(self):
        """At the end of the run (main loop stopped): no more retries; a pipeline that has delivered
        frames gets EOS so that its file ends complete and is returned, to be waited for; one that has
        not (connecting, or a camera that is down) has nothing to finish and stops at once."""
        if self.retry:
            GLib.source_remove(self.retry)
            self.retry = 0
        if self.pipeline is None:
            return None
        with self.lock:
            delivered = not self.first_frame
        if not delivered:
            self.teardown()
            return None
        pipeline = self.detach()
        pipeline.send_event(Gst.Event.new_eos())
        return pipeline


VIEWER_ROLE = 'viewer'


def read_credentials(path):
    """[(user, password)] from the "user:password" lines of a file (blank lines and # comments skipped)."""
    try:
        with open(path, encoding='utf-8') as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        common.fail(f'cannot read --restream-credentials "{path}": {getattr(error, "strerror", None) or error}')
    credentials = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        user, colon, password = line.partition(':')
        if not colon or not user or not password:
            common.fail(f'--restream-credentials "{path}" line {number}: not "user:password"')
        credentials.append((user, password))
    if not credentials:
        common.fail(f'--restream-credentials "{path}" holds no "user:password" line')
    return credentials


def restream_auth(credentials):
    """gst-rtsp-server's digest authentication (the password never crosses the network, as it would
    with basic): every listed user gets the viewer role."""
    auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, VIEWER_ROLE)
    for user, password in credentials:
        auth.add_digest(user, password, token)
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    return auth


def is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == 'localhost'


def start_restream_server(cameras, port, address, credentials):
    server = GstRtspServer.RTSPServer()
    server.set_address(address)
    server.set_service(str(port))
    if credentials:
        server.set_auth(restream_auth(credentials))
    elif not is_loopback(address):
        common.log(f'warning: the restream on {address} serves every camera to anyone who can reach it: '
                   'give --restream-credentials to ask for a login')
    mounts = server.get_mount_points()
    for camera in cameras:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(RESTREAM_LAUNCH.format(channel=camera.channel))
        factory.set_shared(True)  # one encoder per camera, however many viewers
        if credentials:
            factory.add_role_from_structure(Gst.Structure.new_from_string(
                f'{VIEWER_ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true'))
        mounts.add_factory('/' + camera.name, factory)
    if server.attach(None) == 0:
        common.fail(f'cannot serve RTSP on {address} port {port} (in use, or not an address of this machine?)',
                    common.EXIT_FAILED)
    host = f'[{address}]' if ':' in address else address
    login = ' (login required)' if credentials else ''
    for camera in cameras:
        camera.log(f'annotated video at rtsp://{host}:{port}/{camera.name}{login}')
    return server


def lock_output(folder):
    """Holds an exclusive lock on FOLDER/.cctv.lock for the run: two runs appending to the same
    camN.jsonl files would interleave their lines. The kernel drops the lock when the process ends,
    however it ends; the file stays, as a file another run may have open must not be removed."""
    path = os.path.join(folder, '.cctv.lock')
    lock = None
    try:
        # O_NOFOLLOW: a symbolic link planted as the lock must not make the run write through it.
        lock = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644), 'r+')
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or 'another process'
        common.fail(f'the output folder "{folder}" is in use by another cctv.py run ({holder}); '
                    'give each run its own --output')
    except OSError as error:
        why = 'it is a symbolic link' if error.errno == errno.ELOOP else error.strerror
        common.fail(f'cannot lock the output folder "{folder}" ({path}): {why}')
    lock.truncate(0)
    lock.write(f'PID {os.getpid()}\n')
    lock.flush()
    return lock


def main():
    args = parse_args()
    # Before anything is made: a bad credentials file is a usage error.
    credentials = read_credentials(args.restream_credentials) if args.restream_credentials else []
    common.init()
    uris = [common.to_uri(uri) for uri in args.cameras]
    common.make_folder(args.output)
    lock = lock_output(args.output)  # noqa: F841 (held until the process ends)
    loop = GLib.MainLoop()
    status = {'code': common.EXIT_OK}

    def on_fatal(message):
        common.log(f'stopping: {message}')
        status['code'] = common.EXIT_FAILED
        loop.quit()

    cameras = [Camera(index, uri, args, on_fatal) for index, uri in enumerate(uris)]
    for camera in cameras:
        camera.log(f'{camera.public_uri} -> {camera.results}')
    common.log(f'the cameras share one model as model-instance-id "{args.model_instance_id}"')
    if args.restream_port:
        # the main loop's source keeps the server alive
        start_restream_server(cameras, args.restream_port, args.restream_address, credentials)

    def watchdog():
        now = time.monotonic()
        for camera in cameras:
            camera.check_timeout(now)
        return GLib.SOURCE_CONTINUE

    def on_signal(number):
        common.log(f'stopping on {signal.Signals(number).name}')
        loop.quit()
        return GLib.SOURCE_CONTINUE

    for number in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, number, on_signal, number)
    if args.duration:
        GLib.timeout_add(int(args.duration * 1000), lambda: common.log('duration reached') or loop.quit())
    GLib.timeout_add(500, watchdog)
    for camera in cameras:
        camera.start()
    loop.run()

    # Every camera's end of stream runs at once; all of them get EOS_WAIT_S together.
    finishing = [(camera, camera.stop()) for camera in cameras]
    deadline = time.monotonic() + EOS_WAIT_S
    for camera, pipeline in finishing:
        if pipeline is None:
            continue
        left = max(0.0, deadline - time.monotonic())
        if pipeline.get_bus().timed_pop_filtered(int(left * Gst.SECOND),
                                                 Gst.MessageType.EOS | Gst.MessageType.ERROR) is None:
            camera.log(f'no end of stream within {EOS_WAIT_S} s; stopping anyway')
        pipeline.set_state(Gst.State.NULL)
    for camera in cameras:
        camera.log(f'{camera.frames} frames, {camera.outages} outages')
    return status['code']


if __name__ == '__main__':
    sys.exit(main())
