// Swift conveniences over the generated bindings (Generated/LightCap.swift, written by
// ios/scripts/build-xcframework.sh), compiled into the same `LightCap` module.
// The generated API already gives `Engine.load(path:)` and `captionAsync` as async
// functions running on a LightCap thread, and `Sendable` records. What it lacks:
// Swift task cancellation reaching the caption, a stream of partial captions, and
// loading a pack from the app bundle or a file URL.

import Foundation

/// One event of `Engine.captionUpdates(_:options:)`.
public enum CaptionUpdate: Sendable, Equatable {
    /// The best caption so far, while the decoder runs.
    case partial(String)
    /// The finished caption: always the last update.
    case done(Caption)
}

extension Engine {
    /// Loads a pack folder from a file URL, off the calling thread.
    public static func load(contentsOf url: URL) async throws -> Engine {
        try await load(path: url.path)
    }

    /// Loads the pack folder `name` shipped in `bundle` (add the folder to the app
    /// target as a folder reference so its files keep their names).
    public static func load(packNamed name: String, in bundle: Bundle = .main) async throws -> Engine {
        guard let url = bundle.url(forResource: name, withExtension: nil) else {
            throw LightCapError.Io(message: "no model pack folder named \(name) in \(bundle.bundlePath)")
        }
        return try await load(contentsOf: url)
    }

    /// Captions `image` on a LightCap thread. Cancelling the calling task cancels
    /// the caption, which then throws `LightCapError.Cancelled`.
    public func caption(
        _ image: ImageSource,
        options: CaptionOptions = CaptionOptions()
    ) async throws -> Caption {
        let token = CancellationToken()
        return try await withTaskCancellationHandler {
            try await captionAsync(image: image, options: options, listener: nil, cancellation: token)
        } onCancel: {
            token.cancel()
        }
    }

    /// Partial captions as the decoder forms them, then `.done`. A slow consumer
    /// skips partials (only the newest matters to a UI) but always gets `.done`;
    /// breaking out of the loop or cancelling the task cancels the caption.
    public func captionUpdates(
        _ image: ImageSource,
        options: CaptionOptions = CaptionOptions()
    ) -> AsyncThrowingStream<CaptionUpdate, Error> {
        AsyncThrowingStream(bufferingPolicy: .bufferingNewest(1)) { continuation in
            let token = CancellationToken()
            let forwarder = PartialCaptionForwarder(continuation: continuation)
            let work = Task {
                do {
                    let caption = try await self.captionAsync(
                        image: image, options: options, listener: forwarder, cancellation: token)
                    continuation.yield(.done(caption))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in
                token.cancel()
                work.cancel()
            }
        }
    }
}

/// Hands partial captions from the captioning thread to a stream.
private final class PartialCaptionForwarder: CaptionListener {
    let continuation: AsyncThrowingStream<CaptionUpdate, Error>.Continuation

    init(continuation: AsyncThrowingStream<CaptionUpdate, Error>.Continuation) {
        self.continuation = continuation
    }

    func onPartialCaption(text: String) {
        continuation.yield(.partial(text))
    }
}
