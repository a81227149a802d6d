import Accessibility
import LightCap
import SwiftUI
import UIKit

/// Loads the engine once, captions the camera's latest frame or a picked photo, and tells
/// VoiceOver what it found.
@MainActor
final class CaptionViewModel: ObservableObject {
    enum EngineState: Equatable {
        case loading, ready, failed(String)
    }

    @Published private(set) var engineState = EngineState.loading
    @Published private(set) var permission = CameraController.permission
    @Published private(set) var caption: Caption?
    /// `caption` as shown and spoken: its sentence, a hedge when it is unsure, or a
    /// refusal when it is very unsure (`Caption.certainty`).
    @Published private(set) var description: String?
    @Published private(set) var partial: String?
    @Published private(set) var latencyMs: Double?
    @Published private(set) var isBusy = false
    @Published private(set) var error: String?
    @Published var continuous = false {
        didSet { continuous ? startContinuous() : continuousTask?.cancel() }
    }

    let camera = CameraController()
    private var engine: Engine?
    private var continuousTask: Task<Void, Never>?
    private var lastAnnounced: String?

    func start() async {
        if permission == .undetermined {
            permission = await CameraController.requestPermission()
        }
        if permission == .granted {
            do {
                try await camera.start()
            } catch {
                self.error = error.localizedDescription
            }
        }
        guard engine == nil else { return }
        do {
            engine = try await Engine.load(packNamed: "lightcap-default")
            engineState = .ready
        } catch {
            engineState = .failed("\(error)")
        }
    }

    /// Tap: caption the newest camera frame.
    func captionCurrentFrame() {
        guard let frame = camera.takeLatestFrame() else {
            error = "No camera frame yet."
            return
        }
        Task { await caption(frame) }
    }

    /// A photo from the picker, as the library stores it (HEIC, JPEG, PNG, ...): ImageIO
    /// decodes it upright and reduced (`ImageSource.photo(data:)`); the core does not read HEIC.
    func captionPhoto(_ data: Data) {
        Task {
            do {
                let image = try await Self.decode(data)
                await caption(image)
            } catch {
                self.error = "\(error)"
            }
        }
    }

    /// Off the main actor: decoding a 48-megapixel HEIC takes a moment.
    private nonisolated static func decode(_ photo: Data) async throws -> ImageSource {
        try ImageSource.photo(data: photo)
    }

    /// Caption the latest frame, then the latest after that, for as long as the mode is on:
    /// frames that arrive while a caption runs are dropped, never queued.
    private func startContinuous() {
        continuousTask?.cancel()
        continuousTask = Task { [weak self] in
            while !Task.isCancelled {
                guard let self else { return }
                if let frame = self.camera.takeLatestFrame() {
                    await self.caption(frame)
                } else {
                    try? await Task.sleep(nanoseconds: 30_000_000)
                }
            }
        }
    }

    private func caption(_ image: ImageSource) async {
        guard let engine, !isBusy else { return }  // busy: this request is dropped
        isBusy = true
        defer { isBusy = false }
        error = nil
        do {
            for try await update in engine.captionUpdates(image) {
                switch update {
                case .partial(let text):
                    partial = text
                case .done(let result):
                    partial = nil
                    caption = result
                    let said = Self.describe(result, result.certainty(engine.modelInfo()))
                    description = said
                    latencyMs = result.timings.totalMs
                    announce(said)
                }
            }
        } catch LightCapError.Cancelled {
            partial = nil
        } catch {
            partial = nil
            self.error = "\(error)"
        }
    }

    static func describe(_ caption: Caption, _ certainty: Certainty) -> String {
        switch certainty {
        case .sure: return caption.sentence
        case .unsure: return "Image may show \(caption.text)."
        case .cannotDescribe: return "Cannot describe this image."
        }
    }

    /// Speaks the caption with VoiceOver; in continuous mode only when it changed.
    private func announce(_ sentence: String) {
        guard UIAccessibility.isVoiceOverRunning, !(continuous && sentence == lastAnnounced) else { return }
        lastAnnounced = sentence
        if #available(iOS 17.0, *) {
            AccessibilityNotification.Announcement(sentence).post()
        } else {
            UIAccessibility.post(notification: .announcement, argument: sentence)
        }
    }
}
