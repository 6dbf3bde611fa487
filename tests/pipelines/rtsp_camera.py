#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A fake RTSP camera for the CCTV test: serves a clip, looped forever, as H.264 over RTSP.

The clip is decoded into memory once; a timer pushes its frames at --fps through
openh264enc and rtph264pay, so the stream never ends and costs one encoder for all clients.
Prints "ready rtsp://127.0.0.1:PORT/MOUNT" on stdout once it accepts connections, and stops on
SIGINT/SIGTERM.
"""

import argparse
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
gi.require_version('GstVideo', '1.0')
from gi.repository import GLib, Gst, GstRtspServer, GstVideo  # noqa: E402

LAUNCH = ('( appsrc name=frames is-live=true do-timestamp=true format=time ! videoconvert ! '
          'openh264enc gop-size={gop} ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )')


def decode_frames(path):
    """All frames of a clip as raw I420 bytes, and their caps."""
    pipeline = Gst.parse_launch('filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=I420 ! '
                                'appsink name=sink sync=false')
    pipeline.get_by_name('src').set_property('location', path)
    sink = pipeline.get_by_name('sink')
    pipeline.set_state(Gst.State.PLAYING)
    frames, caps = [], None
    while True:
        sample = sink.emit('pull-sample')
        if sample is None:
            break
        buffer = sample.get_buffer()
        frames.append(buffer.extract_dup(0, buffer.get_size()))
        caps = sample.get_caps()
    pipeline.set_state(Gst.State.NULL)
    if not frames:
        sys.exit(f'rtsp_camera: no frames decoded from {path}')
    return frames, caps


class LoopingFactory(GstRtspServer.RTSPMediaFactory):
    """Each new media gets a timer that pushes the clip's frames at the given rate, forever."""

    def __init__(self, frames, caps, fps):
        super().__init__()
        self.frames = frames
        self.fps = fps
        # Through VideoInfo: gst-python 1.26 (Debian 13) hands out caps structures as wrappers without
        # the getters of 1.22's.
        size = GstVideo.VideoInfo.new_from_caps(caps)
        self.caps = Gst.Caps.from_string(f'video/x-raw,format=I420,width={size.width},height={size.height},'
                                         f'framerate={fps}/1')
        self.set_launch(LAUNCH.format(gop=fps))
        self.set_shared(True)
        self.connect('media-configure', self.on_media_configure)

    def on_media_configure(self, _factory, media):
        appsrc = media.get_element().get_by_name_recurse_up('frames')
        appsrc.set_property('caps', self.caps)
        state = {'index': 0, 'running': True}

        def push():
            if not state['running']:
                return GLib.SOURCE_REMOVE
            # A new buffer each time: gst-python 1.26 (Debian 13) makes a copy() of a buffer read-only.
            buffer = Gst.Buffer.new_wrapped(self.frames[state['index'] % len(self.frames)])
            buffer.duration = Gst.SECOND // self.fps
            state['index'] += 1
            appsrc.emit('push-buffer', buffer)  # FLUSHING until the media plays: dropped, fine
            return GLib.SOURCE_CONTINUE

        media.connect('unprepared', lambda _media: state.update(running=False))
        GLib.timeout_add(1000 // self.fps, push)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--clip', required=True, help='video file to serve (decoded into memory)')
    parser.add_argument('--port', type=int, default=0, help='TCP port (default 0: a free one)')
    parser.add_argument('--mount', default='/cam', help='mount point (default %(default)s)')
    parser.add_argument('--fps', type=int, default=10, help='frames per second served (default %(default)s)')
    args = parser.parse_args()

    Gst.init(None)
    frames, caps = decode_frames(args.clip)
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(args.port))
    server.get_mount_points().add_factory(args.mount, LoopingFactory(frames, caps, args.fps))
    if server.attach(None) == 0:
        sys.exit(f'rtsp_camera: cannot listen on 127.0.0.1:{args.port}')
    print(f'ready rtsp://127.0.0.1:{server.get_bound_port()}{args.mount}', flush=True)

    loop = GLib.MainLoop()
    for number in (signal.SIGINT, signal.SIGTERM):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, number, loop.quit)
    loop.run()


if __name__ == '__main__':
    main()
