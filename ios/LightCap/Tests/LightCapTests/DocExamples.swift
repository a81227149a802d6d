// The Swift examples of README.md and docs/ios.md, compiled with the package's tests
// (never run: they need a camera, a photo library and VoiceOver). Each region between
// `// doc-example: NAME` and `// end doc-example` is, indentation aside, a ```swift block
// of those files word for word: scripts/tests/test_docs.py fails when they differ, so
// change both together. The parameters stand for what an app has at hand.
import AVFoundation
import Accessibility
import LightCap
import PhotosUI
import SwiftUI
import UIKit

/// The README's example.
@MainActor
func readmeExample(photoData: Data) async throws {
    // doc-example: ios-readme
    let engine = try await Engine.load(packNamed: "lightcap-default")  // once: the pack folder in the app
    let caption = try await engine.caption(.photo(data: photoData))    // a PhotosPicker photo: HEIC, JPEG, ...
    UIAccessibility.post(notification: .announcement, argument: caption.sentence)
    // end doc-example
}

// doc-example: ios-load
/// One engine for the app's life, shared by every screen.
@MainActor
final class AppModel: ObservableObject {
    @Published private(set) var engine: Engine?
    @Published private(set) var loadError: String?

    /// Call once at launch, e.g. from the root view's `.task`.
    func load() async {
        guard engine == nil else { return }
        do {
            engine = try await Engine.load(packNamed: "lightcap-default")  // off the main thread
        } catch {
            loadError = "\(error)"  // Io: no such folder in the app; InvalidPack: a file is damaged
        }
    }
}
// end doc-example

func downloadedPackExample() async throws -> Engine {
    // doc-example: ios-load-downloaded
    let support = try FileManager.default.url(
        for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
    let engine = try await Engine.load(contentsOf: support.appendingPathComponent("lightcap-default"))
    // end doc-example
    return engine
}

// doc-example: ios-photo
@available(iOS 16.0, *)
struct PhotoCaptionView: View {
    let engine: Engine
    @State private var picked: PhotosPickerItem?
    @State private var said = "Choose a photo."

    var body: some View {
        VStack {
            PhotosPicker("Choose a photo", selection: $picked, matching: .images)
            Text(said)
        }
        .task(id: picked) {  // a new pick cancels the caption of the last one
            guard let picked else { return }
            do {
                // The photo as the library stores it: HEIC (an iPhone's default), JPEG, PNG, ...
                guard let data = try await picked.loadTransferable(type: Data.self) else { return }
                said = try await describe(photo: data, with: engine)
                announce(said)
            } catch LightCapError.Cancelled {
            } catch {
                said = message(for: error)
            }
        }
    }
}

/// Not isolated to the main actor, so decoding a 48 MP HEIC does not hold up the UI.
func describe(photo data: Data, with engine: Engine) async throws -> String {
    let image = try ImageSource.photo(data: data)  // ImageIO: upright, short side 448 pixels
    let caption = try await engine.caption(image)
    return spoken(caption, by: engine)
}
// end doc-example

// doc-example: ios-camera
/// The back camera's frames, upright and BGRA; only the newest is kept.
final class CameraFrames: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate, @unchecked Sendable {
    let session = AVCaptureSession()
    private let queue = DispatchQueue(label: "camera-frames")
    private let lock = NSLock()
    private var latest: CVPixelBuffer?  // guarded by lock

    /// Call off the main thread, then `session.startRunning()` there too.
    func configure() throws {
        guard let camera = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back) else {
            return
        }
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        session.sessionPreset = .hd1280x720  // the model sees 224 x 224: more pixels only cost time
        session.addInput(try AVCaptureDeviceInput(device: camera))
        let output = AVCaptureVideoDataOutput()
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: queue)
        session.addOutput(output)
        // The sensor is landscape: turn the frames upright for a phone held in portrait.
        if let connection = output.connection(with: .video) {
            if #available(iOS 17.0, *) {
                if connection.isVideoRotationAngleSupported(90) { connection.videoRotationAngle = 90 }
            } else if connection.isVideoOrientationSupported {
                connection.videoOrientation = .portrait
            }
        }
    }

    func captureOutput(
        _ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection
    ) {
        lock.lock()
        latest = CMSampleBufferGetImageBuffer(sampleBuffer)  // replaces a frame nobody took
        lock.unlock()
    }

    /// The newest frame, its pixels copied so the buffer goes back to the camera at once.
    func takeLatest() throws -> ImageSource? {
        lock.lock()
        let buffer = latest
        latest = nil
        lock.unlock()
        return try buffer.map { try ImageSource.frame(from: $0) }
    }
}
// end doc-example

func cameraLoopExample(camera: CameraFrames, engine: Engine, show: @MainActor (String) -> Void) async throws {
    // doc-example: ios-camera-loop
    // The newest frame, then the newest after that, until the task is cancelled: frames
    // that arrive while a caption runs are dropped, never queued.
    while !Task.isCancelled {
        guard let frame = try camera.takeLatest() else {
            try await Task.sleep(nanoseconds: 30_000_000)
            continue
        }
        let caption = try await engine.caption(frame)
        await show(spoken(caption, by: engine))
    }
    // end doc-example
}

// doc-example: ios-gallery
/// Captions many photos, at most `limit` at a time. Cancelling the calling task (the
/// screen closes) cancels the captions in progress and starts no more.
func captionGallery(
    _ photos: [URL], with engine: Engine, limit: Int = 2, show: @escaping @Sendable (URL, String) async -> Void
) async {
    await withTaskGroup(of: Void.self) { group in
        var next = photos.makeIterator()
        func start(_ url: URL) {
            group.addTask {
                do {
                    let said = try await describe(photoAt: url, with: engine)
                    await show(url, said)
                } catch LightCapError.Cancelled {
                } catch {
                    await show(url, message(for: error))
                }
            }
        }
        for _ in 0..<limit {
            if let url = next.next() { start(url) }
        }
        while !Task.isCancelled, await group.next() != nil {
            if let url = next.next() { start(url) }
        }
    }
}

/// `describe(photo:with:)` for a file: ImageIO reads it without loading it all.
func describe(photoAt url: URL, with engine: Engine) async throws -> String {
    let caption = try await engine.caption(try ImageSource.photo(at: url))
    return spoken(caption, by: engine)
}
// end doc-example

// doc-example: ios-cell
/// A gallery cell: its caption starts when the cell appears and is cancelled when it
/// scrolls away (SwiftUI cancels the `.task`, which cancels the caption).
struct CaptionedCell: View {
    let url: URL
    let engine: Engine
    @State private var said: String?

    var body: some View {
        Text(said ?? "Describing…")
            .task(id: url) {
                do {
                    said = try await describe(photoAt: url, with: engine)
                } catch LightCapError.Cancelled {
                } catch {
                    said = message(for: error)
                }
            }
    }
}
// end doc-example

// doc-example: ios-speak
/// What to show and say for a caption, from its confidence.
func spoken(_ caption: Caption, by engine: Engine) -> String {
    switch caption.certainty(engine.modelInfo()) {
    case .sure: return caption.sentence
    case .unsure: return "Image may show \(caption.text)."
    case .cannotDescribe: return "Cannot describe this image."
    }
}

/// Reads it out when VoiceOver is on (and does nothing when it is off).
@MainActor
func announce(_ said: String) {
    if #available(iOS 17.0, *) {
        AccessibilityNotification.Announcement(said).post()
    } else {
        UIAccessibility.post(notification: .announcement, argument: said)
    }
}
// end doc-example

// doc-example: ios-errors
/// What to tell the user when a photo or frame cannot be captioned.
func message(for error: Error) -> String {
    guard let error = error as? LightCapError else { return "Cannot describe this image." }
    switch error {
    case .EmptyImage, .UnsupportedImageFormat, .ImageDecode, .InvalidFrame:
        return "This picture cannot be read."
    case .ImageTooLarge:
        return "This picture is too large to describe."
    case .Io:
        return "This picture could not be opened."
    default:  // Cancelled is no failure; the rest are the app's or the pack's bugs: log them
        return "Cannot describe this image."
    }
}
// end doc-example

/// docs/app-developers.md: partial captions of a camera frame as they form, cancellable.
@MainActor
func updatesExample(engine: Engine, pixelBuffer: CVPixelBuffer, label: UILabel) throws {
    // doc-example: ios-updates
    let frame = try ImageSource.frame(from: pixelBuffer)   // a BGRA camera buffer
    let work = Task {
        for try await update in engine.captionUpdates(frame) {
            switch update {
            case .partial(let text): label.text = text
            case .done(let caption): label.text = caption.sentence
            }
        }
    }
    work.cancel() // or leave the loop: either cancels the caption
    // end doc-example
}
