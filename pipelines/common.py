# SPDX-License-Identifier: LGPL-2.1-or-later
"""Code shared by the example pipelines: finding the plugin, inputs as URIs, feremotion options,
timestamped logging, and running a pipeline to its end with Ctrl-C handled."""

import atexit
import datetime
import os
import signal
import sys
import threading
import urllib.parse

import gi

gi.require_version('Gst', '1.0')
from gi.repository import GLib, GObject, Gst  # noqa: E402

PROGRAM = os.path.basename(sys.argv[0])

# Exit statuses of all the scripts.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# The end of every script's --help.
DEVENV_NOTE = """
"meson devenv -C build" finds the plugin and the default model in the build tree; "-w ." keeps the
working folder (devenv otherwise runs the command in build/), so relative paths mean what they say."""

# Set once SIGINT or SIGTERM arrived during run(): callers stop instead of starting more work.
stop_requested = False


_log_lock = threading.Lock()


def log(message):
    """One stderr line: local time with milliseconds, the script's name, the message. Whole lines
    also when streaming threads log at once (print() writes the text and its newline apart)."""
    now = datetime.datetime.now().isoformat(sep=' ', timespec='milliseconds')
    with _log_lock:
        sys.stderr.write(f'{now} {PROGRAM}: {message}\n')
        sys.stderr.flush()


def fail(message, status=EXIT_USAGE):
    log(message)
    sys.exit(status)


def make_folder(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        fail(f'cannot create the output folder "{path}": {error.strerror}')


# OpenH264 reports its drain at the end of every encode as an error although the file is complete:
# "[OpenH264] this = 0x..., Error:CWelsH264SVCEncoder::EncodeFrame(), cmInitParaError."
ENCODER_NOISE = (b'[OpenH264] ', b'Error:CWelsH264SVCEncoder::EncodeFrame(), cmInitParaError.')


def drop_stderr_lines(start, text):
    """Passes everything written to file descriptor 2 (by Python, GStreamer and the libraries under
    it) on to the real stderr, except whole lines that begin with `start` and hold `text`. A thread
    forwards each chunk as it arrives; only an unfinished line that may begin with `start` waits
    for its end."""
    read_end, write_end = os.pipe()
    real_stderr = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)

    def noise(line):
        return line.startswith(start) and text in line

    def forward():
        held = b''
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            lines = (held + chunk).split(b'\n')
            held = lines.pop()
            out = b''.join(line + b'\n' for line in lines if not noise(line))
            if not start.startswith(held[:len(start)]):
                out, held = out + held, b''
            if out:
                os.write(real_stderr, out)
        if held and not noise(held):
            os.write(real_stderr, held)

    thread = threading.Thread(target=forward, name='stderr-filter', daemon=True)
    thread.start()

    def restore():
        sys.stderr.flush()
        os.dup2(real_stderr, 2)  # closes the pipe's last write end: the thread reads its end
        thread.join(timeout=5)

    atexit.register(restore)


def init():
    """Initialises GStreamer and checks that the feremotion plugin can be found."""
    drop_stderr_lines(*ENCODER_NOISE)
    Gst.init(None)
    if Gst.ElementFactory.find('feremotion') is None or Gst.ElementFactory.find('feremotionexport') is None:
        fail('the feremotion GStreamer plugin was not found. From a checkout, run the script through the '
             'build tree: "meson devenv -C build -w . pipelines/' + PROGRAM + ' ..."; otherwise install the plugin '
             '("meson install -C build") or point GST_PLUGIN_PATH at the folder holding libgstferemotion.so.')


def to_uri(text):
    """A URI (rtsp://, file://, v4l2:///dev/video0, ...) stays as it is; a path becomes a file:// URI."""
    if Gst.uri_is_valid(text):
        return text
    if not os.path.exists(text):
        fail(f'input "{text}" does not exist (give a path or a URI)')
    return Gst.filename_to_uri(os.path.abspath(text))


def without_credentials(uri):
    """The URI without its user name and password (rtsp://admin:secret@cam/live -> rtsp://cam/live):
    what is logged or written names a camera this way, so its password stays in memory only."""
    parts = urllib.parse.urlsplit(uri)
    if '@' not in parts.netloc:
        return uri
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition('@')[2]))


def has_property(element, name):
    return element.find_property(name) is not None


NUMBER_TYPES = {GObject.TYPE_INT: int, GObject.TYPE_UINT: int, GObject.TYPE_INT64: int, GObject.TYPE_UINT64: int,
                GObject.TYPE_LONG: int, GObject.TYPE_ULONG: int, GObject.TYPE_FLOAT: float, GObject.TYPE_DOUBLE: float}


def enum_values(spec):
    """(number, name, nick) of each value of an enum property's type. PyGObject 3.50 (Debian 13)
    gives the GEnumClass itself as `enum_class`; earlier releases (Debian 12) gave a Python class
    whose __enum_values__ maps numbers to its members."""
    klass = spec.enum_class
    if isinstance(klass, GObject.EnumClass):
        found = (GObject.enum_get_value(klass, number) for number in range(klass.minimum, klass.maximum + 1))
        return [(value.value, value.value_name, value.value_nick) for value in found if value is not None]
    return [(number, value.value_name, value.value_nick) for number, value in klass.__enum_values__.items()]


def check_value(factory, spec, text):
    """Exits naming the property when `text` is not a value of its type and range: GStreamer would
    only warn and keep the default."""
    problem = None
    parse = NUMBER_TYPES.get(spec.value_type)
    if parse is not None:
        try:
            number = parse(text)
        except ValueError:
            problem = 'is not a number' if parse is float else 'is not a whole number'
        else:
            if not spec.minimum <= number <= spec.maximum:
                problem = f'is outside {spec.minimum:g}-{spec.maximum:g}'
    elif spec.value_type == GObject.TYPE_BOOLEAN:
        if text.lower() not in ('true', 'false', 'yes', 'no', '1', '0'):
            problem = 'is not true or false'
    elif spec.value_type.is_a(GObject.TYPE_ENUM):
        values = enum_values(spec)
        nicks = [nick for _, _, nick in values]
        if text not in nicks + [name for _, name, _ in values] + [str(number) for number, _, _ in values]:
            problem = 'is not one of ' + ', '.join(nicks)
    if problem:
        fail(f'{factory} property {spec.name}={text}: "{text}" {problem}')


def set_property(element, name, value):
    """Sets a property from Python or string values; an unknown property, or a value it does not take,
    is an error naming it."""
    factory = element.get_factory().get_name()
    if not has_property(element, name):
        fail(f'{factory} has no property "{name}" (gst-inspect-1.0 {factory} lists them; an older plugin '
             'build lacks the newer ones)')
    if isinstance(value, bool):
        value = 'true' if value else 'false'
    check_value(factory, element.find_property(name), str(value))
    Gst.util_set_object_arg(element, name, str(value))


def has_enum_value(element, name, nick):
    """Whether an enum property of the element accepts the value `nick` (e.g. format=webvtt)."""
    spec = element.find_property(name)
    return spec is not None and nick in (value_nick for _, _, value_nick in enum_values(spec))


def add_analysis_options(parser):
    """The feremotion settings every script passes through (unset ones keep the element's defaults)."""
    group = parser.add_argument_group('analysis (feremotion element properties)')
    group.add_argument('--model', metavar='PATH', help='emotion model bundle (.pt); default: the default bundle')
    group.add_argument('--detector', choices=['auto', 'haar', 'yunet', 'roi', 'full-frame'],
                       help='face detector (element default: auto, YuNet when a YuNet file is found, else haar)')
    group.add_argument('--detector-model', metavar='PATH',
                       help='YuNet ONNX file for --detector yunet (face_detection_yunet_2023mar.onnx on '
                            'OpenCV 4.8 and newer, as on Debian 13; _2022mar.onnx below, as on Debian 12), '
                            'or another cascade XML for haar')
    group.add_argument('--detection-interval', type=int, metavar='N',
                       help='detect faces every N frames, tracking them in between (element default: 0, the '
                            "detector's own: 4 for haar, 2 for yunet)")
    group.add_argument('-p', '--property', action='append', default=[], metavar='NAME=VALUE',
                       help='any other feremotion property, repeatable: -p threshold=0.8 -p device=cpu')
    return group


def configure_feremotion(element, args, **more):
    """Applies the options of add_analysis_options (and the keyword settings) to a feremotion element."""
    settings = {'model': args.model, 'detector': args.detector, 'detector-model': args.detector_model,
                'detection-interval': args.detection_interval}
    settings.update({name.replace('_', '-'): value for name, value in more.items()})
    for item in args.property:
        name, equals, value = item.partition('=')
        if not equals:
            fail(f'-p {item}: expected NAME=VALUE')
        settings[name] = value
    for name, value in settings.items():
        if value is not None:
            set_property(element, name, value)


def count_frames(element):
    """A counter of the buffers leaving `element` (its src pad): counter['frames']."""
    counter = {'frames': 0}

    def count(_pad, _info):
        counter['frames'] += 1
        return Gst.PadProbeReturn.OK

    element.get_static_pad('src').add_probe(Gst.PadProbeType.BUFFER, count)
    return counter


def describe_error(message):
    """An ERROR message as one line: the error and the element that posted it."""
    error, _debug = message.parse_error()
    text = error.message
    if error.matches(Gst.CoreError.quark(), Gst.CoreError.MISSING_PLUGIN):
        text = 'no video stream, or none that this GStreamer installation can decode'
    return f'{text} ({message.src.get_name()})'


EOS_WAIT_S = 10


def run(pipeline, on_tick=None, tick_ms=500, frames=None):
    """Plays `pipeline` until EOS or an error, calling on_tick() every tick_ms. SIGINT/SIGTERM send EOS
    so that files are finished (a second one, or EOS_WAIT_S without the end of stream, stops at once)
    and set stop_requested; before the first frame (`frames`, a count_frames counter) there is nothing
    to finish and the first one stops at once. Returns None, or the error's text."""
    loop = GLib.MainLoop()
    outcome = {'error': None, 'interrupts': 0}

    def give_up():
        outcome['error'] = f'interrupted: no end of stream within {EOS_WAIT_S} s'
        loop.quit()
        return GLib.SOURCE_REMOVE

    def on_message(_bus, message):
        if message.type == Gst.MessageType.EOS:
            loop.quit()
        elif message.type == Gst.MessageType.ERROR:
            outcome['error'] = describe_error(message)
            loop.quit()

    def on_signal():
        global stop_requested
        stop_requested = True
        outcome['interrupts'] += 1
        if outcome['interrupts'] == 1 and frames is not None and frames['frames'] == 0:
            outcome['error'] = 'interrupted before the first frame'
            loop.quit()
        elif outcome['interrupts'] == 1:
            log('stopping: finishing the output (interrupt again to abort)')
            pipeline.send_event(Gst.Event.new_eos())
            sources.append(GLib.timeout_add_seconds(EOS_WAIT_S, give_up))
        else:
            outcome['error'] = 'interrupted'
            loop.quit()
        return GLib.SOURCE_CONTINUE

    def tick():
        on_tick()
        return GLib.SOURCE_CONTINUE

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect('message', on_message)
    sources = [GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, number, on_signal)
               for number in (signal.SIGINT, signal.SIGTERM)]
    if on_tick:
        sources.append(GLib.timeout_add(tick_ms, tick))
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        message = bus.timed_pop_filtered(0, Gst.MessageType.ERROR)
        outcome['error'] = describe_error(message) if message else 'the pipeline could not start'
    else:
        loop.run()
    for source in sources:
        if GLib.main_context_default().find_source_by_id(source):
            GLib.source_remove(source)
    bus.remove_signal_watch()
    pipeline.set_state(Gst.State.NULL)
    return outcome['error']
