import LightCap
import PhotosUI
import SwiftUI

struct ContentView: View {
    @ObservedObject var model: CaptionViewModel
    @State private var pickedPhoto: PhotosPickerItem?
    // Restored by the system with the scene, like Android's saved instance state.
    @SceneStorage("continuous") private var continuous = false

    var body: some View {
        ZStack(alignment: .bottom) {
            camera
            panel
        }
        .onChange(of: continuous) { model.continuous = $0 }
        .onAppear { model.continuous = continuous }
        .onChange(of: pickedPhoto) { item in
            guard let item else { return }
            Task {
                let data = try? await item.loadTransferable(type: Data.self)
                if let data {
                    model.captionPhoto(data)
                }
                pickedPhoto = nil
            }
        }
    }

    @ViewBuilder private var camera: some View {
        switch model.permission {
        case .granted:
            CameraPreview(session: model.camera.session)
                .ignoresSafeArea()
                .onTapGesture { model.captionCurrentFrame() }
        case .denied:
            VStack(spacing: 12) {
                Text("LightCap needs the camera to describe what is in front of you.")
                    .multilineTextAlignment(.center)
                Text("Allow camera access in Settings, or choose a photo instead.")
                    .font(.footnote)
                    .foregroundStyle(.secondary)
                Button("Open Settings") {
                    if let url = URL(string: UIApplication.openSettingsURLString) {
                        UIApplication.shared.open(url)
                    }
                }
            }
            .padding()
            .frame(maxWidth: .infinity, maxHeight: .infinity)
        case .undetermined:
            ProgressView("Asking for the camera…")
                .frame(maxWidth: .infinity, maxHeight: .infinity)
        }
    }

    private var panel: some View {
        VStack(alignment: .leading, spacing: 8) {
            switch model.engineState {
            case .loading:
                ProgressView("Loading the model…")
            case .failed(let message):
                Text("The model could not be loaded: \(message)").foregroundStyle(.red)
            case .ready:
                captionText
                concepts
                controls
            }
            if let error = model.error {
                Text(error).font(.footnote).foregroundStyle(.red)
            }
        }
        .padding()
        .frame(maxWidth: .infinity, alignment: .leading)
        .background(.regularMaterial)
    }

    private var captionText: some View {
        Text(model.partial ?? model.description ?? "Tap the picture to describe it.")
            .font(.title3)
            .foregroundStyle(model.partial == nil ? .primary : .secondary)
            // Announced by the view model when a caption is final; partials stay quiet.
            .accessibilityLabel(model.description ?? "No description yet")
            .accessibilityAddTraits(.updatesFrequently)
    }

    @ViewBuilder private var concepts: some View {
        if let caption = model.caption {
            ScrollView(.horizontal, showsIndicators: false) {
                HStack {
                    ForEach(caption.concepts.prefix(5), id: \.name) { concept in
                        Text("\(concept.name) \(Int((concept.score * 100).rounded()))%")
                            .font(.caption)
                            .padding(.horizontal, 8)
                            .padding(.vertical, 4)
                            .background(.thinMaterial, in: Capsule())
                    }
                }
            }
            .accessibilityElement(children: .combine)
            .accessibilityLabel("Concepts: " + caption.concepts.prefix(5).map(\.name).joined(separator: ", "))
            if let latency = model.latencyMs {
                Text("\(Int(latency.rounded())) ms on this device")
                    .font(.caption2)
                    .foregroundStyle(.secondary)
            }
        }
    }

    private var controls: some View {
        HStack {
            Button {
                model.captionCurrentFrame()
            } label: {
                Label("Describe", systemImage: "text.viewfinder")
            }
            .buttonStyle(.borderedProminent)
            .disabled(model.isBusy || model.permission != .granted)

            Toggle("Continuous", isOn: $continuous)
                .toggleStyle(.button)
                .disabled(model.permission != .granted)

            PhotosPicker(selection: $pickedPhoto, matching: .images) {
                Label("Photo", systemImage: "photo")
            }
        }
    }
}
