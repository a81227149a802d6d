import AVFoundation
import LightCap

/// The back camera's frames, of which only the newest is kept: captioning takes the
/// latest frame when it is ready for one, so frames that arrive while it is busy are
/// dropped, never queued.
final class CameraController: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate, @unchecked Sendable {
    enum Permission: Equatable {
        case undetermined, granted, denied
    }

    let session = AVCaptureSession()
    private let frames = DispatchQueue(label: "dev.lightcap.sample.frames")
    private let lock = NSLock()
    // The newest buffer, guarded by lock. Holding one buffer of the capture pool is fine;
    // copying every frame's pixels just to keep the newest would not be.
    private var latest: CVPixelBuffer?
    // iOS 17's AVCaptureDevice.RotationCoordinator, kept while its angle is observed.
    private var rotationCoordinator: AnyObject?
    private var rotationObservation: NSKeyValueObservation?

    static var permission: Permission {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized: return .granted
        case .notDetermined: return .undetermined
        default: return .denied
        }
    }

    static func requestPermission() async -> Permission {
        await AVCaptureDevice.requestAccess(for: .video) ? .granted : .denied
    }

    /// Configures and starts the session off the main thread (startRunning blocks).
    func start() async throws {
        try await withCheckedThrowingContinuation { (done: CheckedContinuation<Void, Error>) in
            frames.async { [self] in
                do {
                    try configure()
                    session.startRunning()
                    done.resume()
                } catch {
                    done.resume(throwing: error)
                }
            }
        }
    }

    func stop() {
        frames.async { [session] in session.stopRunning() }
    }

    /// The newest frame, handed over once (its pixels copied, the buffer released).
    func takeLatestFrame() -> ImageSource? {
        lock.lock()
        let buffer = latest
        latest = nil
        lock.unlock()
        return buffer.flatMap { try? ImageSource.frame(from: $0) }
    }

    private func configure() throws {
        guard session.inputs.isEmpty else { return }
        guard let camera = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back) else {
            throw CameraError.noCamera
        }
        session.beginConfiguration()
        defer { session.commitConfiguration() }
        session.sessionPreset = .hd1280x720  // the model sees 224 x 224: more pixels only cost time
        let input = try AVCaptureDeviceInput(device: camera)
        let output = AVCaptureVideoDataOutput()
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: frames)
        guard session.canAddInput(input), session.canAddOutput(output) else { throw CameraError.cannotConfigure }
        session.addInput(input)
        session.addOutput(output)
        // The sensor is landscape; the model needs the scene upright. iOS 17 gives the angle
        // for the way the phone is held; before, the frames are turned for portrait.
        if #available(iOS 17.0, *) {
            let coordinator = AVCaptureDevice.RotationCoordinator(device: camera, previewLayer: nil)
            rotationObservation = coordinator.observe(
                \.videoRotationAngleForHorizonLevelCapture, options: [.initial, .new]
            ) { [weak self] observed, _ in
                let angle = observed.videoRotationAngleForHorizonLevelCapture
                self?.frames.async { [weak self] in
                    guard let connection = self?.session.outputs.first?.connection(with: .video),
                        connection.isVideoRotationAngleSupported(angle)
                    else { return }
                    connection.videoRotationAngle = angle
                }
            }
            rotationCoordinator = coordinator
        } else if let connection = output.connection(with: .video), connection.isVideoOrientationSupported {
            connection.videoOrientation = .portrait
        }
    }

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard let buffer = CMSampleBufferGetImageBuffer(sampleBuffer) else { return }
        lock.lock()
        latest = buffer  // replaces any frame nobody took
        lock.unlock()
    }
}

enum CameraError: LocalizedError {
    case noCamera, cannotConfigure

    var errorDescription: String? {
        switch self {
        case .noCamera: return "This device has no back camera."
        case .cannotConfigure: return "The camera could not be set up."
        }
    }
}
